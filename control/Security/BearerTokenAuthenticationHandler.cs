using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Broadcast.Control.Security;

/// <summary>
/// <c>Authorization: Bearer {token}</c> (RFC 6750 §2.1) checked against one configured secret. A missing header is "no
/// result" so other schemes (the dashboard cookie) can still authenticate; so is a token that another bearer scheme of
/// this node owns (an origin's playback node token reaching a route that also accepts the admin token), which is no
/// failure and must not be logged as one; any other token fails. The challenge is a 401
/// with <c>WWW-Authenticate: Bearer</c> and a problem+json body.
/// </summary>
public abstract class BearerTokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private const string BearerPrefix = "Bearer ";

    /// <summary>Whether <paramref name="candidate"/> is this scheme's token.</summary>
    protected abstract bool Matches(ReadOnlySpan<char> candidate);

    /// <summary>Whether <paramref name="candidate"/> is the token of another bearer scheme of this node.</summary>
    protected abstract bool OwnedByAnotherScheme(ReadOnlySpan<char> candidate);

    /// <summary>Who a matching token authenticates.</summary>
    protected abstract IEnumerable<Claim> Claims { get; }

    /// <summary>The challenge's hint when no token was sent.</summary>
    protected abstract string MissingTokenDetail { get; }

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
        if (!candidate.IsEmpty && !Matches(candidate) && OwnedByAnotherScheme(candidate))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (candidate.IsEmpty || !Matches(candidate))
        {
            return Task.FromResult(AuthenticateResult.Fail("invalid bearer token"));
        }

        var identity = new ClaimsIdentity(Claims, Scheme.Name);
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
                detail: result.Failure is null ? MissingTokenDetail : "The bearer token is not valid.")
            .ExecuteAsync(Context).ConfigureAwait(false);
    }
}

/// <summary>The admin API's bearer token (<c>Admin:Token</c>): the "admin" role.</summary>
public sealed class AdminBearerAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    AdminToken token,
    PlaybackNodeToken nodeToken)
    : BearerTokenAuthenticationHandler(options, logger, encoder)
{
    protected override bool Matches(ReadOnlySpan<char> candidate) => token.Matches(candidate);

    protected override bool OwnedByAnotherScheme(ReadOnlySpan<char> candidate) => nodeToken.Matches(candidate);

    protected override IEnumerable<Claim> Claims => [new Claim(ClaimTypes.Name, "admin"), new Claim(ClaimTypes.Role, ControlAuth.AdminRole)];

    protected override string MissingTokenDetail => "Send the admin token as 'Authorization: Bearer {token}'.";
}

/// <summary>
/// Origin nodes' bearer token (<c>Playback:NodeToken</c>): the "playback-node" role, which only
/// <c>GET /api/playback/access</c> accepts. The admin policy never runs this scheme, so the node token opens no admin route.
/// </summary>
public sealed class PlaybackNodeAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    PlaybackNodeToken token,
    AdminToken adminToken)
    : BearerTokenAuthenticationHandler(options, logger, encoder)
{
    protected override bool Matches(ReadOnlySpan<char> candidate) => token.Matches(candidate);

    protected override bool OwnedByAnotherScheme(ReadOnlySpan<char> candidate) => adminToken.Matches(candidate);

    protected override IEnumerable<Claim> Claims
        => [new Claim(ClaimTypes.Name, "playback-node"), new Claim(ClaimTypes.Role, ControlAuth.PlaybackNodeRole)];

    protected override string MissingTokenDetail => token.IsConfigured
        ? "Send the playback node token (Playback:NodeToken) as 'Authorization: Bearer {token}'."
        : "Playback:NodeToken is not set on this control node, so no origin node can read private playback from it.";
}
