using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Broadcast.Control.Security;

/// <summary>Names shared by the admin authentication scheme and policy.</summary>
public static class ControlAuth
{
    /// <summary>The bearer-token scheme (<c>Admin:Token</c>).</summary>
    public const string BearerScheme = "AdminBearer";

    /// <summary>The dashboard's session cookie, issued by the sign-in endpoints to an admin user.</summary>
    public const string CookieScheme = "AdminCookie";

    /// <summary>What the "admin" policy authenticates with: bearer when an Authorization header is sent, else the cookie.</summary>
    public const string AdminScheme = "Admin";

    /// <summary>The dashboard's sign-in page; the cookie scheme redirects browsers there (API paths get a 401 instead).</summary>
    public const string SignInPath = "/sign-in";

    /// <summary>Rate-limiter policy on the sign-in endpoints (per client address).</summary>
    public const string SignInRateLimit = "sign-in";

    /// <summary>Header carrying the antiforgery token on unsafe cookie-authenticated API calls.</summary>
    public const string AntiforgeryHeader = "X-CSRF-TOKEN";

    public const string SessionCookieName = "broadcast.session";

    /// <summary>The authorization policy every admin endpoint requires.</summary>
    public const string AdminPolicy = "admin";

    public const string AdminRole = "admin";
}

/// <summary>
/// <c>Authorization: Bearer {Admin:Token}</c> (RFC 6750 §2.1). A missing header is "no result" so other
/// schemes (the dashboard cookie) can still authenticate; a wrong token fails. The challenge is a 401
/// with <c>WWW-Authenticate: Bearer</c> and a problem+json body.
/// </summary>
public sealed class AdminBearerAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    AdminToken token)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private const string BearerPrefix = "Bearer ";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization;
        if (header.Count == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var value = header.Count == 1 ? header[0] : null;
        // The scheme name is case-insensitive (RFC 7235 §2.1).
        if (value is null || !value.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var candidate = value.AsSpan(BearerPrefix.Length).Trim();
        if (candidate.IsEmpty || !token.Matches(candidate))
        {
            return Task.FromResult(AuthenticateResult.Fail("invalid bearer token"));
        }

        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, "admin"), new Claim(ClaimTypes.Role, ControlAuth.AdminRole)], Scheme.Name);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync().ConfigureAwait(false);
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        // RFC 6750 §3: name the error only when a token was presented.
        Response.Headers[HeaderNames.WWWAuthenticate] = result.Failure is null
            ? "Bearer realm=\"broadcast\""
            : "Bearer realm=\"broadcast\", error=\"invalid_token\"";
        await Results.Problem(
                statusCode: StatusCodes.Status401Unauthorized,
                title: "Unauthorized",
                detail: result.Failure is null
                    ? "Send the admin token as 'Authorization: Bearer {token}'."
                    : "The bearer token is not valid.")
            .ExecuteAsync(Context).ConfigureAwait(false);
    }
}
