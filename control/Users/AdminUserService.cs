using Broadcast.Control.Persistence;
using Broadcast.Control.Security;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Users;

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
    ILogger<AdminUserService> logger,
    AccountSignInGuard accountGuard)
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
        var user = new AdminUser(RowId.New(now), FirstAdminName,
            PasswordHasher.Hash(password, settings.PasswordHashIterations), now);
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
        var user = new AdminUser(RowId.New(now), name.Trim(), PasswordHasher.Hash(password, settings.PasswordHashIterations),
            now)
        {
            Role = role!,
        };
        return await repository.TryInsertAsync(user, cancellationToken).ConfigureAwait(false)
            ? new AccountView(user.Id, user.Name, user.Role, user.CreatedAt) : null;
    }

    public Task<IReadOnlyList<AccountView>> ListAsync(CancellationToken cancellationToken = default) => repository.ListAsync(cancellationToken);

    /// <summary>Deletes an account; never the last admin, so the service always keeps someone who can manage it.</summary>
    public Task<AccountDeletion> DeleteAsync(string id, CancellationToken cancellationToken = default)
        => repository.DeleteAsync(id, cancellationToken);

    /// <summary>Replaces the password after checking the current one. False when name or current password is wrong.</summary>
    /// <exception cref="ValidationFailedException">The new password is too short.</exception>
    public async Task<bool> ChangePasswordAsync(string name, string? currentPassword, string? newPassword,
        CancellationToken cancellationToken = default)
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
        // A name locked after too many wrong passwords is refused without a check: the right password too, until it ends.
        if (accountGuard.IsLocked(name, out _)) return null;
        var user = await repository.GetByNameAsync(name.Trim(), cancellationToken).ConfigureAwait(false);
        // PBKDF2 at 600k iterations is CPU-heavy: keep it off the request thread pool's hot path.
        var ok = await Task.Run(() => PasswordHasher.Verify(password, user?.PasswordHash ?? _dummyHash.Value),
            cancellationToken).ConfigureAwait(false);
        if (ok && user is not null)
        {
            accountGuard.RecordSuccess(name);
            return user;
        }
        if (accountGuard.RecordFailure(name))
            LogAccountLocked(name.Trim(), AccountSignInGuard.MaxFailures, (int)AccountSignInGuard.Window.TotalMinutes,
                (int)AccountSignInGuard.Block.TotalMinutes);
        return null;
    }

    /// <summary>True while <paramref name="name"/>'s sign-ins are refused after too many wrong passwords.</summary>
    public bool IsLockedOut(string? name, out TimeSpan remaining) => accountGuard.IsLocked(name, out remaining);

    [LoggerMessage(EventId = 3302, Level = LogLevel.Warning,
        Message = "Sign-in for '{Name}' locked: {Failures} wrong passwords within {WindowMinutes} min, from any address; " +
            "password sign-ins for it are refused for {BlockMinutes} min")]
    private partial void LogAccountLocked(string name, int failures, int windowMinutes, int blockMinutes);

    [LoggerMessage(EventId = 3301, Level = LogLevel.Information,
        Message = "First admin user '{Name}' created; its password is printed once in the start-up banner")]
    private partial void LogFirstAdmin(string name);
}
