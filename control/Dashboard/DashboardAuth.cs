using Broadcast.Control.Security;

namespace Broadcast.Control.Dashboard;

/// <summary>
/// The dashboard signs admins in with the control plane's session cookie (<see cref="ControlAuth.CookieScheme"/>)
/// and guards pages and the live hub with the same "admin" policy as the API; moderator accounts open only the pages
/// <see cref="PolicyFor"/> names.
/// </summary>
public static class DashboardAuth
{
    public const string Policy = ControlAuth.AdminPolicy;

    /// <summary>The pages a moderator account may open as well as an admin: moderation, its own account, signing out.</summary>
    private static readonly HashSet<string> ModeratorPages = new(StringComparer.Ordinal) { "/Moderate", "/Account", "/SignOut" };

    /// <summary>The policy guarding the page at <paramref name="viewEnginePath"/> (e.g. <c>/Moderate</c>): admin unless listed above.</summary>
    public static string PolicyFor(string viewEnginePath) => ModeratorPages.Contains(viewEnginePath) ? ControlAuth.ChatModerationPolicy : Policy;

    /// <summary>Rate-limiter policy on the sign-in form's POSTs (viewing the form is not limited).</summary>
    public const string SignInRateLimit = "dashboard-sign-in";

    /// <summary>Rate-limiter policy on the password-change form's POSTs: each one checks the current password.</summary>
    public const string PasswordRateLimit = "dashboard-password";

    /// <summary>Where the session cookie sends browsers that are not signed in.</summary>
    public const string SignInPath = ControlAuth.SignInPath;
}
