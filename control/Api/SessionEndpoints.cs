using System.Security.Claims;
using Broadcast.Control.Security;
using Broadcast.Control.Security.ApiKeys;
using Broadcast.Control.Users;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broadcast.Control.Api;

/// <summary>
/// Dashboard sign-in. <c>POST /account/sign-in</c> takes the dashboard's form (name, password, returnUrl,
/// antiforgery token) and redirects; <c>POST /api/session</c> is the JSON twin. Both are rate-limited per
/// client address. <c>GET /api/session</c> tells who is signed in and hands out the antiforgery token that
/// unsafe cookie-authenticated API calls send as <c>X-CSRF-TOKEN</c>.
/// </summary>
public static class SessionEndpoints
{
    public static IEndpointRouteBuilder MapSessionApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapPost("/account/sign-in", SignInFormAsync).RequireRateLimiting(ControlAuth.SignInRateLimit).DisableAntiforgery()
            .ExcludeFromDescription();
        endpoints.MapGet("/account/antiforgery", IssueAntiforgery).ExcludeFromDescription();
        endpoints.MapPost("/account/sign-out", SignOutFormAsync).DisableAntiforgery().ExcludeFromDescription();
        // A signed-in account's own session: no API key's business.
        var api = endpoints.MapGroup("/api/session").WithTags("session").AdminOnly();
        // No antiforgery token before there is a session: JSON only (RequestBodies), which a cross-site page cannot send.
        api.MapPost("", SignInJsonAsync).RequireRateLimiting(ControlAuth.SignInRateLimit).DisableAntiforgery()
            .Produces<SessionResponse>().ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status429TooManyRequests);
        // Your own session and password: any account, a moderator's too.
        api.MapGet("", GetSession).RequireAuthorization(ControlAuth.ChatModerationPolicy).Produces<SessionResponse>();
        api.MapPost("/password", ChangePasswordAsync).RequireAuthorization(ControlAuth.ChatModerationPolicy)
            .RequireRateLimiting(ControlAuth.SignInRateLimit).Accepts<ChangePasswordRequest>("application/json")
            .Produces(StatusCodes.Status204NoContent).ProducesValidationProblem();
        api.MapDelete("", SignOutAsync).RequireAuthorization(ControlAuth.ChatModerationPolicy).Produces(StatusCodes.Status204NoContent);
        return endpoints;
    }

    /// <summary>Signs <paramref name="user"/> in with the session cookie. For the dashboard's own pages too.</summary>
    public static Task SignInAsync(HttpContext context, AdminUser user) => AdminSessions.SignInAsync(context, user);

    private static async Task<IResult> SignInFormAsync(HttpContext context, IAntiforgery antiforgery, AdminUserService users,
        CancellationToken cancellationToken)
    {
        if (!context.Request.HasFormContentType)
        {
            return Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Form expected",
                detail: "Post the sign-in form as application/x-www-form-urlencoded.");
        }

        try
        {
            await antiforgery.ValidateRequestAsync(context).ConfigureAwait(false);
        }
        catch (AntiforgeryValidationException)
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Antiforgery token missing or invalid",
                detail: "Reload the sign-in page and try again.");
        }

        var form = await context.Request.ReadFormAsync(cancellationToken).ConfigureAwait(false);
        var returnUrl = LocalOrRoot(form["returnUrl"].ToString());
        var user = await users.VerifyAsync(form["name"].ToString(), form["password"].ToString(), cancellationToken).ConfigureAwait(false);
        if (user is null)
        {
            string why = users.IsLockedOut(form["name"].ToString(), out _) ? "locked" : "invalid";
            return Results.Redirect($"{ControlAuth.SignInPath}?error={why}&returnUrl={Uri.EscapeDataString(returnUrl)}");
        }

        await SignInAsync(context, user).ConfigureAwait(false);
        return Results.LocalRedirect(returnUrl);
    }

    /// <summary>
    /// For a front end that renders its own sign-in form (no Razor tag helper): sets the antiforgery cookie and
    /// returns the token to put in the form's <c>__RequestVerificationToken</c> field.
    /// </summary>
    private static IResult IssueAntiforgery(HttpContext context, IAntiforgery antiforgery)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        return Results.Json(new AntiforgeryResponse(tokens.RequestToken, tokens.FormFieldName, tokens.HeaderName),
            ControlJsonContext.Default.AntiforgeryResponse);
    }

    private static async Task<IResult> SignOutFormAsync(HttpContext context, IAntiforgery antiforgery, AdminSessions sessions,
        CancellationToken cancellationToken)
    {
        try
        {
            await antiforgery.ValidateRequestAsync(context).ConfigureAwait(false);
        }
        catch (AntiforgeryValidationException)
        {
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Antiforgery token missing or invalid");
        }

        await sessions.SignOutEverywhereAsync(context, cancellationToken).ConfigureAwait(false);
        return Results.LocalRedirect(ControlAuth.SignInPath);
    }

    private static async Task<IResult> SignInJsonAsync(HttpContext context, AdminUserService users, IAntiforgery antiforgery,
        CancellationToken cancellationToken)
    {
        var (request, error) = await RequestBodies.ReadAsync(context, ControlJsonContext.Default.SignInRequest,
            cancellationToken).ConfigureAwait(false);
        if (error is not null) return error;
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(request!.Name)) errors["name"] = ["The name is required."];
        if (string.IsNullOrEmpty(request.Password)) errors["password"] = ["The password is required."];
        if (errors.Count > 0) return RequestBodies.Invalid(errors);
        var user = await users.VerifyAsync(request.Name, request.Password, cancellationToken).ConfigureAwait(false);
        if (user is null && users.IsLockedOut(request.Name, out var left))
        {
            context.Response.Headers.RetryAfter = ((int)Math.Ceiling(left.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Sign-in locked",
                detail: $"Too many wrong passwords for this name; password sign-in for it is refused for {(int)Math.Ceiling(left.TotalMinutes)} " +
                    "more minutes.");
        }
        if (user is null)
        {
            return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Sign-in failed", detail: "The name or password is wrong.");
        }

        await SignInAsync(context, user).ConfigureAwait(false);
        // The new identity is not on this request yet; issue the token for the signed-in user explicitly.
        context.User = AdminSessions.PrincipalFor(user);
        var tokens = antiforgery.GetAndStoreTokens(context);
        return Results.Json(new SessionResponse(user.Name, ControlAuth.CookieScheme, tokens.RequestToken, ControlAuth.AntiforgeryHeader, user.Role),
            ControlJsonContext.Default.SessionResponse);
    }

    private static IResult GetSession(HttpContext context, IAntiforgery antiforgery)
    {
        var scheme = context.User.Identity?.AuthenticationType ?? ControlAuth.BearerScheme;
        var token = scheme == ControlAuth.CookieScheme ? antiforgery.GetAndStoreTokens(context).RequestToken : null;
        return Results.Json(new SessionResponse(context.User.Identity?.Name ?? "admin", scheme, token, ControlAuth.AntiforgeryHeader,
            context.User.IsInRole(ControlAuth.AdminRole) ? ControlAuth.AdminRole : ControlAuth.ModeratorRole),
            ControlJsonContext.Default.SessionResponse);
    }

    /// <summary>The signed-in user changes their own password (the current one is checked, as with sign-in).</summary>
    private static async Task<IResult> ChangePasswordAsync(HttpContext context, AdminUserService users, AdminSessions sessions,
        CancellationToken cancellationToken)
    {
        var (request, error) = await RequestBodies.ReadAsync(context, ControlJsonContext.Default.ChangePasswordRequest,
            cancellationToken).ConfigureAwait(false);
        if (error is not null) return error;
        if (context.User.Identity?.AuthenticationType != ControlAuth.CookieScheme || context.User.Identity.Name is not { } name)
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "No user session",
                detail: "Sign in as the user whose password changes; the bearer token belongs to no user.");
        if (!await users.ChangePasswordAsync(name, request!.CurrentPassword, request.NewPassword, cancellationToken).ConfigureAwait(false))
            return RequestBodies.Invalid("currentPassword", "The current password is wrong.");
        // Every session of this user ended with the change; this one continues under the new version.
        await sessions.RenewAsync(context, name, cancellationToken).ConfigureAwait(false);
        return Results.NoContent();
    }

    /// <summary>Ends every session of the signed-in user, on every node (a bearer caller has none: nothing happens).</summary>
    private static async Task<IResult> SignOutAsync(HttpContext context, AdminSessions sessions, CancellationToken cancellationToken)
    {
        await sessions.SignOutEverywhereAsync(context, cancellationToken).ConfigureAwait(false);
        return Results.NoContent();
    }

    private static string LocalOrRoot(string? url)
        => !string.IsNullOrEmpty(url) && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\')) ? url : "/";
}
