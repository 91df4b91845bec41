using System.Globalization;
using System.Security.Claims;
using Broadcast.Control.Users;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;

namespace Broadcast.Control.Security;

/// <summary>
/// The dashboard's session cookies. Each carries the user's session version at sign-in; every cookie-authenticated
/// request checks it against the user's row, so signing out or changing the password (both bump the version) ends every
/// session of that user at once, on every node, copies of the cookie included. A deleted user's sessions end the same way.
/// </summary>
public sealed class AdminSessions(IAdminUserRepository users)
{
    /// <summary>The claim holding the session version the cookie was issued under.</summary>
    public const string VersionClaim = "broadcast:session-version";

    /// <summary>Who a session cookie for <paramref name="user"/> says is signed in.</summary>
    public static ClaimsPrincipal PrincipalFor(AdminUser user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return new ClaimsPrincipal(new ClaimsIdentity(
        [
            new Claim(ClaimTypes.NameIdentifier, user.Id),
            new Claim(ClaimTypes.Name, user.Name),
            new Claim(ClaimTypes.Role, user.Role),
            new Claim(VersionClaim, user.SessionVersion.ToString(CultureInfo.InvariantCulture)),
        ], ControlAuth.CookieScheme));
    }

    /// <summary>Issues the session cookie for <paramref name="user"/> under its current session version.</summary>
    public static Task SignInAsync(HttpContext context, AdminUser user)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.SignInAsync(ControlAuth.CookieScheme, PrincipalFor(user));
    }

    /// <summary>Ends every session of the signed-in user (not only this browser's), then clears this browser's cookie.</summary>
    public async Task SignOutEverywhereAsync(HttpContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.User.Identity?.AuthenticationType == ControlAuth.CookieScheme && context.User.FindFirstValue(ClaimTypes.NameIdentifier) is { } id)
        {
            await users.EndSessionsAsync(id, cancellationToken).ConfigureAwait(false);
        }

        await context.SignOutAsync(ControlAuth.CookieScheme).ConfigureAwait(false);
    }

    /// <summary>
    /// After this user's password changed (which ended every session): a new cookie for this browser only, so the
    /// user who changed it stays signed in here.
    /// </summary>
    public async Task RenewAsync(HttpContext context, string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (await users.GetByNameAsync(name, cancellationToken).ConfigureAwait(false) is { } user)
        {
            await SignInAsync(context, user).ConfigureAwait(false);
        }
    }

    /// <summary>The cookie scheme's <c>OnValidatePrincipal</c>: rejects a cookie whose version is not the user's current one.</summary>
    public async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var principal = context.Principal;
        if (principal?.FindFirstValue(ClaimTypes.NameIdentifier) is { } id
            && long.TryParse(principal.FindFirstValue(VersionClaim), NumberStyles.None, CultureInfo.InvariantCulture, out long issuedUnder)
            && await users.GetSessionVersionAsync(id, context.HttpContext.RequestAborted).ConfigureAwait(false) == issuedUnder)
        {
            return;
        }

        // Ended (sign-out or password change elsewhere), a deleted user, or a cookie from before session versions.
        context.RejectPrincipal();
        await context.HttpContext.SignOutAsync(ControlAuth.CookieScheme).ConfigureAwait(false);
    }
}
