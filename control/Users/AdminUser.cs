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
