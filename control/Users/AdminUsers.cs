using System.Security.Cryptography;
using System.Text;
using Broadcast.Control.Persistence;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Users;

public sealed record AdminUser(string Id, string Name, string PasswordHash, DateTimeOffset CreatedAt)
{
    /// <summary>
    /// Bumped by sign-out and password changes; a session cookie issued under an older version is no longer accepted, so
    /// those end every session of the user, copies of the cookie included.
    /// </summary>
    public long SessionVersion { get; init; }

    /// <summary><see cref="AccountRoles.Admin"/> or <see cref="AccountRoles.Moderator"/>.</summary>
    public string Role { get; init; } = AccountRoles.Admin;
}

/// <summary>What an account may do: an admin everything; a moderator only moderate chat (never the admin API or dashboard).</summary>
public static class AccountRoles
{
    public const string Admin = "admin";
    public const string Moderator = "moderator";

    public static bool IsKnown(string? role) => role is Admin or Moderator;
}

/// <summary>An account as the user list shows it (no hash).</summary>
public sealed record AccountView(string Id, string Name, string Role, DateTimeOffset CreatedAt);

/// <summary>
/// PBKDF2-HMAC-SHA256 password hashes as <c>pbkdf2-sha256${iterations}${salt}${hash}</c> (base64). 600,000
/// iterations is OWASP's 2023 figure for PBKDF2-SHA256; the count is stored per hash, so raising it later
/// leaves old hashes verifiable.
/// </summary>
public static class PasswordHasher
{
    public const int DefaultIterations = 600_000;
    private const string Prefix = "pbkdf2-sha256";
    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    // A cap so a tampered row cannot make one sign-in burn minutes of CPU.
    private const int MaxIterations = 10_000_000;

    public static string Hash(string password, int iterations = DefaultIterations)
    {
        ArgumentNullException.ThrowIfNull(password);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return $"{Prefix}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    /// <summary>Constant-time compare of the derived bytes; false for any malformed stored hash.</summary>
    public static bool Verify(string password, string stored)
    {
        ArgumentNullException.ThrowIfNull(password);
        var parts = stored?.Split('$');
        if (parts is not { Length: 4 } || parts[0] != Prefix || !int.TryParse(parts[1], out var iterations) || iterations is < 1 or > MaxIterations)
        {
            return false;
        }

        byte[] salt, expected;
        try
        {
            salt = Convert.FromBase64String(parts[2]);
            expected = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException)
        {
            return false;
        }

        if (expected.Length == 0) return false;
        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>A random password for the first admin: 18 random bytes, base64url (24 characters).</summary>
    public static string GeneratePassword() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)).Replace('+', '-').Replace('/', '_');
}

public interface IAdminUserRepository
{
    Task<bool> TryInsertAsync(AdminUser user, CancellationToken cancellationToken = default);

    Task<AdminUser?> GetByNameAsync(string name, CancellationToken cancellationToken = default);

    Task<long> CountAsync(CancellationToken cancellationToken = default);

    /// <summary>Replaces the hash and bumps the session version (ending every session). False when the user is gone.</summary>
    Task<bool> SetPasswordHashAsync(string id, string passwordHash, CancellationToken cancellationToken = default);

    /// <summary>The user's current session version; null when the user no longer exists.</summary>
    Task<long?> GetSessionVersionAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Bumps the session version, ending every session of the user. False when the user is gone.</summary>
    Task<bool> EndSessionsAsync(string id, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<AccountView>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes the account unless it is the last admin (checked in the same statement, so two deletes racing cannot
    /// remove both of the last two admins). Its sessions end with it.
    /// </summary>
    Task<AccountDeletion> DeleteAsync(string id, CancellationToken cancellationToken = default);
}

public enum AccountDeletion
{
    Deleted,
    NotFound,
    LastAdmin,
}

public sealed class SqlAdminUserRepository(ControlDatabase database) : IAdminUserRepository
{
    public async Task<bool> TryInsertAsync(AdminUser user, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        try
        {
            await Sql.ExecuteAsync(database, "INSERT INTO admin_users (id, name, password_hash, created_at, role) VALUES (@id, @name, @hash, @created_at, @role)", c =>
            {
                Sql.Add(c, "id", user.Id);
                Sql.Add(c, "role", user.Role);
                Sql.Add(c, "name", user.Name);
                Sql.Add(c, "hash", user.PasswordHash);
                Sql.Add(c, "created_at", Sql.Millis(user.CreatedAt));
            }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (System.Data.Common.DbException e) when (database.IsUniqueViolation(e))
        {
            return false;
        }
    }

    public async Task<AdminUser?> GetByNameAsync(string name, CancellationToken cancellationToken = default)
    {
        var rows = await Sql.QueryAsync(database, "SELECT id, name, password_hash, created_at, session_version, role FROM admin_users WHERE name = @name",
            c => Sql.Add(c, "name", name),
            r => new AdminUser(r.GetString(0), r.GetString(1), r.GetString(2), Sql.Time(r, 3)) { SessionVersion = r.GetInt64(4), Role = r.GetString(5) },
            cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<long> CountAsync(CancellationToken cancellationToken = default)
    {
        var rows = await Sql.QueryAsync(database, "SELECT COUNT(*) FROM admin_users", _ => { }, r => Convert.ToInt64(r.GetValue(0),
            System.Globalization.CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
        return rows[0];
    }

    public async Task<bool> SetPasswordHashAsync(string id, string passwordHash, CancellationToken cancellationToken = default)
        => await Sql.ExecuteAsync(database, "UPDATE admin_users SET password_hash = @hash, session_version = session_version + 1 WHERE id = @id", c =>
        {
            Sql.Add(c, "hash", passwordHash);
            Sql.Add(c, "id", id);
        }, cancellationToken).ConfigureAwait(false) == 1;

    public async Task<long?> GetSessionVersionAsync(string id, CancellationToken cancellationToken = default)
    {
        var rows = await Sql.QueryAsync(database, "SELECT session_version FROM admin_users WHERE id = @id", c => Sql.Add(c, "id", id),
            r => r.GetInt64(0), cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<bool> EndSessionsAsync(string id, CancellationToken cancellationToken = default)
        => await Sql.ExecuteAsync(database, "UPDATE admin_users SET session_version = session_version + 1 WHERE id = @id",
            c => Sql.Add(c, "id", id), cancellationToken).ConfigureAwait(false) == 1;

    public async Task<IReadOnlyList<AccountView>> ListAsync(CancellationToken cancellationToken = default)
        => await Sql.QueryAsync(database, "SELECT id, name, role, created_at FROM admin_users ORDER BY name", _ => { },
            r => new AccountView(r.GetString(0), r.GetString(1), r.GetString(2), Sql.Time(r, 3)), cancellationToken).ConfigureAwait(false);

    public async Task<AccountDeletion> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        // A moderator goes at once; an admin only while another admin remains.
        var deleted = await Sql.ExecuteAsync(database, @"DELETE FROM admin_users WHERE id = @id
            AND (role <> 'admin' OR (SELECT COUNT(*) FROM admin_users WHERE role = 'admin') > 1)", c => Sql.Add(c, "id", id),
            cancellationToken).ConfigureAwait(false);
        if (deleted == 1) return AccountDeletion.Deleted;
        return await GetSessionVersionAsync(id, cancellationToken).ConfigureAwait(false) is null ? AccountDeletion.NotFound : AccountDeletion.LastAdmin;
    }
}

/// <summary>The first admin's generated password, held in memory only until the start-up banner prints it.</summary>
public sealed class FirstAdminCredentials
{
    private string? _password;

    public string? Name { get; private set; }

    internal void Set(string name, string password)
    {
        Name = name;
        _password = password;
    }

    /// <summary>Returns the password once and forgets it.</summary>
    public string? TakePassword() => Interlocked.Exchange(ref _password, null);
}

public sealed partial class AdminUserService(
    IAdminUserRepository repository,
    FirstAdminCredentials firstAdmin,
    ControlSettings settings,
    TimeProvider time,
    ILogger<AdminUserService> logger)
{
    public const string FirstAdminName = "admin";
    public const int NameMaxLength = 100;

    // Verifying against this when the name is unknown keeps the response time the same as for a known name.
    private readonly Lazy<string> _dummyHash = new(() => PasswordHasher.Hash(PasswordHasher.GeneratePassword(), settings.PasswordHashIterations));

    /// <summary>Creates the first admin when there is none; its generated password waits in <see cref="FirstAdminCredentials"/>.</summary>
    public async Task<bool> EnsureFirstAdminAsync(CancellationToken cancellationToken = default)
    {
        if (await repository.CountAsync(cancellationToken).ConfigureAwait(false) > 0) return false;
        var password = PasswordHasher.GeneratePassword();
        var now = time.GetUtcNow();
        var user = new AdminUser(Guid.CreateVersion7(now).ToString("N"), FirstAdminName, PasswordHasher.Hash(password, settings.PasswordHashIterations), now);
        // Another node may win the race; then it prints the password, not us.
        if (!await repository.TryInsertAsync(user, cancellationToken).ConfigureAwait(false)) return false;
        firstAdmin.Set(user.Name, password);
        LogFirstAdmin(user.Name);
        return true;
    }

    /// <summary>Creates an account (an admin unless <paramref name="role"/> says otherwise). False when the name is taken.</summary>
    /// <exception cref="ValidationFailedException">Name, password or role invalid.</exception>
    public async Task<bool> CreateAsync(string name, string password, CancellationToken cancellationToken = default)
        => await CreateAsync(name, password, AccountRoles.Admin, cancellationToken).ConfigureAwait(false) is not null;

    /// <summary>Creates an account with <paramref name="role"/>; null when the name is taken.</summary>
    /// <exception cref="ValidationFailedException">Name, password or role invalid.</exception>
    public async Task<AccountView?> CreateAsync(string? name, string? password, string? role, CancellationToken cancellationToken = default)
    {
        if (!AccountRoles.IsKnown(role))
            throw ValidationFailedException.For("role", $"The role must be '{AccountRoles.Admin}' or '{AccountRoles.Moderator}'.");
        if (string.IsNullOrWhiteSpace(name) || name.Trim().Length > NameMaxLength || name.Any(char.IsControl))
            throw ValidationFailedException.For("name", $"The name is required, at most {NameMaxLength} characters, no control characters.");
        if (password is null || password.Length < 12 || password.Length > 1024)
            throw ValidationFailedException.For("password", "The password must be 12 to 1024 characters.");
        var now = time.GetUtcNow();
        var user = new AdminUser(Guid.CreateVersion7(now).ToString("N"), name.Trim(), PasswordHasher.Hash(password, settings.PasswordHashIterations), now)
        {
            Role = role!,
        };
        return await repository.TryInsertAsync(user, cancellationToken).ConfigureAwait(false) ? new AccountView(user.Id, user.Name, user.Role, user.CreatedAt) : null;
    }

    public Task<IReadOnlyList<AccountView>> ListAsync(CancellationToken cancellationToken = default) => repository.ListAsync(cancellationToken);

    /// <summary>Deletes an account; never the last admin, so the service always keeps someone who can manage it.</summary>
    public Task<AccountDeletion> DeleteAsync(string id, CancellationToken cancellationToken = default) => repository.DeleteAsync(id, cancellationToken);

    /// <summary>Replaces the password after checking the current one. False when name or current password is wrong.</summary>
    /// <exception cref="ValidationFailedException">The new password is too short.</exception>
    public async Task<bool> ChangePasswordAsync(string name, string? currentPassword, string? newPassword, CancellationToken cancellationToken = default)
    {
        if (newPassword is null || newPassword.Length < 12 || newPassword.Length > 1024)
            throw ValidationFailedException.For("newPassword", "The new password must be 12 to 1024 characters.");
        var user = await VerifyAsync(name, currentPassword, cancellationToken).ConfigureAwait(false);
        if (user is null) return false;
        return await repository.SetPasswordHashAsync(user.Id, PasswordHasher.Hash(newPassword, settings.PasswordHashIterations), cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>The user when name and password match; null otherwise (same work either way).</summary>
    public async Task<AdminUser?> VerifyAsync(string? name, string? password, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(name) || string.IsNullOrEmpty(password) || name.Length > NameMaxLength || password.Length > 1024) return null;
        var user = await repository.GetByNameAsync(name.Trim(), cancellationToken).ConfigureAwait(false);
        // PBKDF2 at 600k iterations is CPU-heavy: keep it off the request thread pool's hot path.
        var ok = await Task.Run(() => PasswordHasher.Verify(password, user?.PasswordHash ?? _dummyHash.Value), cancellationToken).ConfigureAwait(false);
        return ok && user is not null ? user : null;
    }

    [LoggerMessage(EventId = 3301, Level = LogLevel.Information, Message = "First admin user '{Name}' created; its password is printed once in the start-up banner")]
    private partial void LogFirstAdmin(string name);
}
