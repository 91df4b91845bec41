using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Broadcast.Control.Security;

/// <summary>Names shared by the admin authentication scheme and policy.</summary>
public static class ControlAuth
{
    /// <summary>The bearer-token scheme (<c>Admin:Token</c>).</summary>
    public const string BearerScheme = "AdminBearer";

    /// <summary>Scoped API keys (<c>Authorization: Bearer bk_…</c>), made by admins under <c>/api/keys</c>.</summary>
    public const string ApiKeyScheme = "ApiKeyBearer";

    /// <summary>The dashboard's session cookie, issued by the sign-in endpoints to an admin user.</summary>
    public const string CookieScheme = "AdminCookie";

    /// <summary>What the "admin" policy authenticates with: bearer when an Authorization header is sent, else the cookie.</summary>
    public const string AdminScheme = "Admin";

    /// <summary>The dashboard's sign-in page; the cookie scheme redirects browsers there (API paths get a 401 instead).</summary>
    public const string SignInPath = "/sign-in";

    /// <summary>The moderation page: where a moderator account lands after signing in.</summary>
    public const string ModerationPath = "/dashboard/moderate";

    /// <summary>Rate-limiter policy on the sign-in endpoints (per client address).</summary>
    public const string SignInRateLimit = "sign-in";

    /// <summary>
    /// <c>Admin:SignInPermitsPerMinute</c> (default 5): sign-in attempts a client address may make a minute, on the API's
    /// door and the dashboard's alike (one setting governs both).
    /// </summary>
    public static int SignInPermitsPerMinute(IConfiguration configuration) =>
        int.TryParse(configuration["Admin:SignInPermitsPerMinute"], NumberStyles.None, CultureInfo.InvariantCulture, out int permits)
            && permits > 0 ? permits : 5;

    /// <summary>Header carrying the antiforgery token on unsafe cookie-authenticated API calls.</summary>
    public const string AntiforgeryHeader = "X-CSRF-TOKEN";

    public const string SessionCookieName = "broadcast.session";

    /// <summary>The authorization policy every admin endpoint requires.</summary>
    public const string AdminPolicy = "admin";

    public const string AdminRole = Users.AccountRoles.Admin;

    /// <summary>A moderator account's role: chat moderation only.</summary>
    public const string ModeratorRole = Users.AccountRoles.Moderator;

    /// <summary>The policy of what admins and moderator accounts may both do: moderate chat, see the moderation page,
    /// manage their own account.</summary>
    public const string ChatModerationPolicy = "chat-moderation";

    /// <summary>Origin nodes' scheme (<c>Playback:NodeToken</c>), used by <c>GET /api/playback/access</c> alone.</summary>
    public const string PlaybackNodeScheme = "PlaybackNodeBearer";

    /// <summary>What the playback node token grants: reading private channels and playback verification keys.</summary>
    public const string PlaybackNodeRole = "playback-node";
}
