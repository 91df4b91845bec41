using System.Text.Encodings.Web;
using Broadcast.Control.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Broadcast.Control.Tests.Security;

/// <summary>
/// A route that takes the admin token or the playback node token runs both bearer schemes. The token of one is no
/// failure of the other: ASP.NET logs every failed scheme ("AdminBearer was not authenticated"), and an origin's poll once
/// a second then read like an attack on every control node. Only a token that no scheme owns fails.
/// </summary>
public sealed class BearerSchemeOwnershipTests
{
    private const string Admin = "admin-token-0123456789abcdef0123456789";
    private const string Node = "node-token-0123456789abcdef0123456789ab";

    private static readonly AdminToken AdminToken = new(Admin, "unused-admin-token-path");
    private static readonly PlaybackNodeToken NodeToken = PlaybackNodeToken.From(Node, Admin);

    [Theory]
    [InlineData(ControlAuth.BearerScheme, Admin, "success")]
    [InlineData(ControlAuth.BearerScheme, Node, "none")]
    [InlineData(ControlAuth.BearerScheme, "someone-elses-token-0123456789abcdef", "failure")]
    [InlineData(ControlAuth.PlaybackNodeScheme, Node, "success")]
    [InlineData(ControlAuth.PlaybackNodeScheme, Admin, "none")]
    [InlineData(ControlAuth.PlaybackNodeScheme, "someone-elses-token-0123456789abcdef", "failure")]
    public async Task A_token_another_scheme_owns_is_no_result_and_only_an_unknown_token_fails(string scheme, string token, string expected)
    {
        var result = await AuthenticateAsync(scheme, "Bearer " + token);
        string outcome = result.Succeeded ? "success" : result.None ? "none" : "failure";
        Assert.Equal(expected, outcome);
    }

    [Fact]
    public async Task Without_a_node_token_configured_a_stranger_token_still_fails_the_admin_scheme()
    {
        var result = await AuthenticateAsync(ControlAuth.BearerScheme, "Bearer " + Node, PlaybackNodeToken.None);
        Assert.NotNull(result.Failure);
    }

    private static async Task<AuthenticateResult> AuthenticateAsync(string scheme, string header, PlaybackNodeToken? nodeToken = null)
    {
        var options = new StaticOptions();
        IAuthenticationHandler handler = scheme == ControlAuth.BearerScheme
            ? new AdminBearerAuthenticationHandler(options, NullLoggerFactory.Instance, UrlEncoder.Default, AdminToken, nodeToken ?? NodeToken)
            : new PlaybackNodeAuthenticationHandler(options, NullLoggerFactory.Instance, UrlEncoder.Default, nodeToken ?? NodeToken, AdminToken);
        var context = new DefaultHttpContext();
        context.Request.Headers.Authorization = header;
        await handler.InitializeAsync(new AuthenticationScheme(scheme, null, handler.GetType()), context);
        return await handler.AuthenticateAsync();
    }

    private sealed class StaticOptions : IOptionsMonitor<AuthenticationSchemeOptions>
    {
        public AuthenticationSchemeOptions CurrentValue { get; } = new();

        public AuthenticationSchemeOptions Get(string? name) => CurrentValue;

        public IDisposable? OnChange(Action<AuthenticationSchemeOptions, string?> listener) => null;
    }
}
