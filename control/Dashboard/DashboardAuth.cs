using System.Security.Claims;
using Broadcast.Control.Security;

namespace Broadcast.Control.Dashboard;

/// <summary>Names of the dashboard's cookie scheme and policy.</summary>
public static class DashboardAuth
{
    /// <summary>The session cookie scheme of the dashboard (HttpOnly, SameSite=Strict, sliding 8 h).</summary>
    public const string CookieScheme = "DashboardCookie";

    /// <summary>Policy for dashboard pages and the live hub: an admin signed in with the cookie.</summary>
    public const string Policy = "dashboard";

    /// <summary>Rate-limiter policy on the sign-in form's POST.</summary>
    public const string SignInRateLimit = "dashboard-signin";

    public const string SignInPath = "/dashboard/signin";

    public static ClaimsPrincipal Principal(string userName)
        => new(new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, userName), new Claim(ClaimTypes.Role, ControlAuth.AdminRole)],
            CookieScheme));
}

/// <summary>
/// Checks a dashboard sign-in. Owned by the dashboard (its consumer): the admin-user store with PBKDF2 hashes
/// implements it; until one is registered, <see cref="AdminTokenSignIn"/> accepts the admin token.
/// </summary>
public interface IDashboardSignIn
{
    /// <summary>The user's display name when the credentials are right; null otherwise. Must not reveal which part was wrong.</summary>
    ValueTask<string?> VerifyAsync(string userName, string password, CancellationToken cancellationToken);
}

/// <summary>
/// Stand-in sign-in until admin users exist: user <c>admin</c> with the server's <c>Admin:Token</c> as password.
/// The token is compared in constant time by <see cref="AdminToken.Matches"/>.
/// </summary>
public sealed class AdminTokenSignIn(AdminToken token) : IDashboardSignIn
{
    public const string UserName = "admin";

    public ValueTask<string?> VerifyAsync(string userName, string password, CancellationToken cancellationToken)
    {
        var ok = token.Matches(password.AsSpan()) & string.Equals(userName, UserName, StringComparison.Ordinal);
        return ValueTask.FromResult(ok ? UserName : null);
    }
}
