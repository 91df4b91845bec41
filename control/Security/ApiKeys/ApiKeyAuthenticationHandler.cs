using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Broadcast.Control.Security.ApiKeys;

/// <summary>The claims an API key's principal carries (no role: what it may do is its scopes and channels).</summary>
public static class ApiKeyClaims
{
    public const string KeyId = "broadcast:api-key";
    public const string Scope = "broadcast:scope";
    public const string Channel = "broadcast:channel";

    public static ClaimsPrincipal PrincipalFor(ApiKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var claims = new List<Claim> { new(ClaimTypes.Name, key.Name), new(KeyId, key.Id) };
        claims.AddRange(key.Scopes.Select(s => new Claim(Scope, s)));
        claims.AddRange(key.Channels.Select(c => new Claim(Channel, c)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, ControlAuth.ApiKeyScheme));
    }

    public static bool IsApiKey(ClaimsPrincipal user) => user.HasClaim(c => c.Type == KeyId);

    /// <summary>The channel ids an API key is limited to; null when the caller may see every channel (an admin, or a key for all).</summary>
    public static IReadOnlySet<string>? LimitedChannels(ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        if (!IsApiKey(user)) return null;
        var channels = user.FindAll(Channel).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
        return channels.Count == 0 ? null : channels;
    }

    /// <summary>Whether <paramref name="user"/> may see what belongs to <paramref name="channelId"/> (see <see cref="LimitedChannels"/>).</summary>
    public static bool MaySee(ClaimsPrincipal user, string channelId) => LimitedChannels(user) is not { } limit || limit.Contains(channelId);
}

/// <summary>
/// <c>Authorization: Bearer bk_…</c>: a scoped API key (RFC 6750 §2.1). The admin scheme forwards here only tokens with the
/// key prefix; an unknown, wrong, malformed or expired key fails with a 401 problem+json.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyService keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    private const string BearerPrefix = "Bearer ";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization;
        string? value = header.Count == 1 ? header[0] : null;
        if (value is null || !value.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase)) return AuthenticateResult.NoResult();
        var address = Context.Connection.RemoteIpAddress ?? System.Net.IPAddress.None;
        if (keys.Refusals.IsBlocked(address, out var left))
            return AuthenticateResult.Fail($"Too many refused API keys from this address: try again in {(int)Math.Ceiling(left.TotalSeconds)} s.");
        var (key, refusal) = await keys.AuthenticateAsync(value[BearerPrefix.Length..].Trim(), Context.RequestAborted).ConfigureAwait(false);
        if (key is null)
        {
            keys.RecordRefusal(address);
            return AuthenticateResult.Fail(refusal == ApiKeyRefusal.Expired ? "The API key has expired." : "The API key is not valid.");
        }
        var principal = ApiKeyClaims.PrincipalFor(key);
        return AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync().ConfigureAwait(false);
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers[HeaderNames.WWWAuthenticate] = "Bearer realm=\"broadcast\", error=\"invalid_token\"";
        await Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized",
                detail: result.Failure?.Message ?? "Send the API key as 'Authorization: Bearer {key}'.")
            .ExecuteAsync(Context).ConfigureAwait(false);
    }
}
