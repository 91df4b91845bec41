using Broadcast.Control.Playback;
using Broadcast.Control.Playback.Jwt;
using Broadcast.Control.Security;
using Broadcast.Network.Outbound;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Tests.Playback;

/// <summary>
/// The JWKS served by a loopback HTTP server in the test: a rotated key picked up without restart (asked by the unknown kid, and at
/// most once per interval however many unknown kids arrive), and a JWKS that is huge, slow, malformed or on a refused address bounded
/// and logged with its event id while the keys in force stay.
/// </summary>
public sealed class PlaybackJwksTests
{
    private static readonly OutboundGuard LoopbackAllowed = new(new OutboundUrlPolicy(OutboundAllowList.Parse([], ["127.0.0.1/32"])), new DnsHostResolver());

    private static PlaybackJwtOptions Options(Uri url, int minRefreshSeconds = 1) => new()
    {
        JwksUrl = url,
        Audience = PlaybackJwtSigner.Audience,
        JwksMinRefresh = TimeSpan.FromSeconds(minRefreshSeconds),
        // Long enough for a first fetch on a loaded machine; the slow case still ends well inside its 15 s bound.
        JwksTimeout = TimeSpan.FromSeconds(5),
        JwksMaxBytes = 16 * 1024,
    };

    private static string Token(Microsoft.IdentityModel.Tokens.SecurityKey key, string alg) =>
        PlaybackJwtSigner.Sign(key, alg, new Dictionary<string, object> { ["channel"] = "members" }, DateTime.UtcNow.AddMinutes(5));

    [Fact]
    public async Task A_key_rotated_in_the_jwks_is_picked_up_without_restart_and_random_kids_fetch_once_per_interval()
    {
        var first = new PlaybackJwtSigner("k1", "e1", "p1");
        var second = new PlaybackJwtSigner("k2", "e2", "p2");
        await using var server = await LoopbackHttpEndpoint.StartAsync();
        Serve(server, first.Jwks(first.Rsa));
        var logs = new EventLog();
        var options = Options(JwksUrl(server), minRefreshSeconds: 60);
        using var jwks = new PlaybackJwks(options, LoopbackAllowed, TimeProvider.System, logs.For<PlaybackJwks>());
        var verifier = new PlaybackJwtVerifier(options, TimeProvider.System, jwks);
        Assert.True(await jwks.RefreshAsync(CancellationToken.None));
        Assert.Contains(3810, logs.Ids);
        Assert.Equal(PlaybackTokenResult.Valid, verifier.Verify("members", Token(first.Rsa, "RS256"), null, out _));

        // The platform rotates: the new key is in the JWKS, the old one gone. The first token with the new kid asks for a fetch.
        Serve(server, second.Jwks(second.P256));
        string rotated = Token(second.P256, "ES256");
        Assert.Equal(PlaybackTokenResult.UnknownKey, verifier.Verify("members", rotated, null, out _));
        await WaitFor.ConditionAsync(() => Task.FromResult(verifier.Verify("members", rotated, null, out _) == PlaybackTokenResult.Valid),
            TimeSpan.FromSeconds(20), "the rotated key to verify");
        Assert.Equal(PlaybackTokenResult.UnknownKey, verifier.Verify("members", Token(first.Rsa, "RS256"), null, out _));
        int fetches = jwks.Fetches;
        int served = server.Received.Count;

        // A flood of unknown kids within the interval: no further fetch.
        for (int i = 0; i < 200; i++)
        {
            var stranger = new PlaybackJwtSigner("r" + i, "x", "y");
            Assert.Equal(PlaybackTokenResult.UnknownKey, verifier.Verify("members", Token(stranger.P256, "ES256"), null, out _));
        }

        Assert.Equal(fetches, jwks.Fetches);
        Assert.Equal(served, server.Received.Count);
    }

    [Theory]
    [InlineData("huge", 3812)]
    [InlineData("slow", 3813)]
    [InlineData("malformed", 3814)]
    [InlineData("symmetric only", 3814)]
    [InlineData("status 500", 3815)]
    public async Task A_bad_jwks_is_bounded_logged_and_the_keys_in_force_stay(string what, int eventId)
    {
        var signer = new PlaybackJwtSigner();
        await using var server = await LoopbackHttpEndpoint.StartAsync();
        Serve(server, signer.Jwks(signer.Rsa));
        var logs = new EventLog();
        var options = Options(JwksUrl(server));
        using var jwks = new PlaybackJwks(options, LoopbackAllowed, TimeProvider.System, logs.For<PlaybackJwks>());
        var verifier = new PlaybackJwtVerifier(options, TimeProvider.System, jwks);
        Assert.True(await jwks.RefreshAsync(CancellationToken.None));
        string token = Token(signer.Rsa, "RS256");

        switch (what)
        {
            // Written without a Content-Length (chunked): the cap is met while reading, not from the header.
            case "huge": Serve(server, "{\"keys\":[" + new string(' ', 10_000_000) + "]}"); break;
            case "slow": server.Answer(async (_, _, aborted) => await Task.Delay(TimeSpan.FromSeconds(30), aborted)); break;
            case "malformed": Serve(server, "{\"keys\": [ {\"kty\": "); break;
            case "symmetric only": Serve(server, "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"rsa-1\",\"k\":\"c2VjcmV0\"}]}"); break;
            default: server.Answer(500); break;
        }

        var started = System.Diagnostics.Stopwatch.StartNew();
        Assert.False(await jwks.RefreshAsync(CancellationToken.None));
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(15), $"the fetch took {started.Elapsed}");
        Assert.Contains(eventId, logs.Ids);
        Assert.Equal(PlaybackTokenResult.Valid, verifier.Verify("members", token, null, out _));
    }

    [Fact]
    public async Task A_jwks_on_a_loopback_address_is_refused_unless_the_operator_allows_it()
    {
        var signer = new PlaybackJwtSigner();
        await using var server = await LoopbackHttpEndpoint.StartAsync();
        Serve(server, signer.Jwks());
        var logs = new EventLog();
        var guard = new OutboundGuard(new OutboundUrlPolicy(), new DnsHostResolver());
        using var jwks = new PlaybackJwks(Options(JwksUrl(server)), guard, TimeProvider.System, logs.For<PlaybackJwks>());
        Assert.False(await jwks.RefreshAsync(CancellationToken.None));
        Assert.Contains(3811, logs.Ids);
        Assert.Empty(server.Received);
        Assert.Empty(jwks.Keys.Keys);
    }

    /// <summary>Event ids logged, from every logger made for it.</summary>
    internal sealed class EventLog
    {
        private readonly List<int> _ids = [];

        public IReadOnlyList<int> Ids
        {
            get
            {
                lock (_ids) return [.. _ids];
            }
        }

        public ILogger<T> For<T>() => new Logger<T>(this);

        private sealed class Logger<T>(EventLog log) : ILogger<T>
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (log._ids) log._ids.Add(eventId.Id);
            }
        }
    }

    private static Uri JwksUrl(LoopbackHttpEndpoint server) => server.Url(".well-known/jwks.json");

    private static void Serve(LoopbackHttpEndpoint server, string jwks) => server.Answer(200, jwks, "application/jwk-set+json");
}
