using Broadcast.Control.Persistence;

namespace Broadcast.Control.Users;

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
        return await Sql.TryInsertAsync(database,
            "INSERT INTO admin_users (id, name, password_hash, created_at, role) VALUES (@id, @name, @hash, @created_at, @role)", c =>
        {
            Sql.Add(c, "id", user.Id);
            Sql.Add(c, "role", user.Role);
            Sql.Add(c, "name", user.Name);
            Sql.Add(c, "hash", user.PasswordHash);
            Sql.Add(c, "created_at", Sql.Millis(user.CreatedAt));
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<AdminUser?> GetByNameAsync(string name, CancellationToken cancellationToken = default)
    {
        var rows = await Sql.QueryAsync(database,
            "SELECT id, name, password_hash, created_at, session_version, role FROM admin_users WHERE name = @name",
            c => Sql.Add(c, "name", name),
            r => new AdminUser(r.GetString(0), r.GetString(1), r.GetString(2), Sql.Time(r, 3)) { SessionVersion = r.GetInt64(4),
                Role = r.GetString(5) },
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
        return await GetSessionVersionAsync(id, cancellationToken).ConfigureAwait(false) is null ? AccountDeletion.NotFound
            : AccountDeletion.LastAdmin;
    }
}
