using System.Net;
using System.Net.Sockets;
using System.Text;
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
        JwksTimeout = TimeSpan.FromSeconds(2),
        JwksMaxBytes = 16 * 1024,
    };

    private static string Token(Microsoft.IdentityModel.Tokens.SecurityKey key, string alg) =>
        PlaybackJwtSigner.Sign(key, alg, new Dictionary<string, object> { ["channel"] = "members" }, DateTime.UtcNow.AddMinutes(5));

    [Fact]
    public async Task A_key_rotated_in_the_jwks_is_picked_up_without_restart_and_random_kids_fetch_once_per_interval()
    {
        var first = new PlaybackJwtSigner("k1", "e1", "p1");
        var second = new PlaybackJwtSigner("k2", "e2", "p2");
        await using var server = new JwksServer { Body = first.Jwks(first.Rsa) };
        var logs = new EventLog();
        var options = Options(server.Url, minRefreshSeconds: 60);
        using var jwks = new PlaybackJwks(options, LoopbackAllowed, TimeProvider.System, logs.For<PlaybackJwks>());
        var verifier = new PlaybackJwtVerifier(options, TimeProvider.System, jwks);
        Assert.True(await jwks.RefreshAsync(CancellationToken.None));
        Assert.Contains(3810, logs.Ids);
        Assert.Equal(PlaybackTokenResult.Valid, verifier.Verify("members", Token(first.Rsa, "RS256"), null, out _));

        // The platform rotates: the new key is in the JWKS, the old one gone. The first token with the new kid asks for a fetch.
        server.Body = second.Jwks(second.P256);
        string rotated = Token(second.P256, "ES256");
        Assert.Equal(PlaybackTokenResult.UnknownKey, verifier.Verify("members", rotated, null, out _));
        await WaitFor.ConditionAsync(() => Task.FromResult(verifier.Verify("members", rotated, null, out _) == PlaybackTokenResult.Valid),
            TimeSpan.FromSeconds(20), "the rotated key to verify");
        Assert.Equal(PlaybackTokenResult.UnknownKey, verifier.Verify("members", Token(first.Rsa, "RS256"), null, out _));
        int fetches = jwks.Fetches;
        int served = server.Requests;

        // A flood of unknown kids within the interval: no further fetch.
        for (int i = 0; i < 200; i++)
        {
            var stranger = new PlaybackJwtSigner("r" + i, "x", "y");
            Assert.Equal(PlaybackTokenResult.UnknownKey, verifier.Verify("members", Token(stranger.P256, "ES256"), null, out _));
        }

        Assert.Equal(fetches, jwks.Fetches);
        Assert.Equal(served, server.Requests);
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
        await using var server = new JwksServer { Body = signer.Jwks(signer.Rsa) };
        var logs = new EventLog();
        var options = Options(server.Url);
        using var jwks = new PlaybackJwks(options, LoopbackAllowed, TimeProvider.System, logs.For<PlaybackJwks>());
        var verifier = new PlaybackJwtVerifier(options, TimeProvider.System, jwks);
        Assert.True(await jwks.RefreshAsync(CancellationToken.None));
        string token = Token(signer.Rsa, "RS256");

        switch (what)
        {
            case "huge": server.Body = "{\"keys\":[" + new string(' ', 10_000_000) + "]}"; server.ChunkedWithoutLength = true; break;
            case "slow": server.Delay = TimeSpan.FromSeconds(30); break;
            case "malformed": server.Body = "{\"keys\": [ {\"kty\": "; break;
            case "symmetric only": server.Body = "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"rsa-1\",\"k\":\"c2VjcmV0\"}]}"; break;
            default: server.Status = 500; break;
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
        await using var server = new JwksServer { Body = signer.Jwks() };
        var logs = new EventLog();
        var guard = new OutboundGuard(new OutboundUrlPolicy(), new DnsHostResolver());
        using var jwks = new PlaybackJwks(Options(server.Url), guard, TimeProvider.System, logs.For<PlaybackJwks>());
        Assert.False(await jwks.RefreshAsync(CancellationToken.None));
        Assert.Contains(3811, logs.Ids);
        Assert.Equal(0, server.Requests);
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

    /// <summary>A one-route HTTP/1.1 server on 127.0.0.1: serves <see cref="Body"/> with <see cref="Status"/> after <see cref="Delay"/>.</summary>
    internal sealed class JwksServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private int _requests;

        public JwksServer()
        {
            _listener.Start();
            Url = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/.well-known/jwks.json");
            _loop = Task.Run(AcceptAsync);
        }

        public Uri Url { get; }

        public volatile string Body = "";

        public volatile int Status = 200;

        public TimeSpan Delay { get; set; }

        public bool ChunkedWithoutLength { get; set; }

        public int Requests => Volatile.Read(ref _requests);

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception) when (_stop.IsCancellationRequested)
                {
                    return;
                }

                _ = Task.Run(() => ServeAsync(client));
            }
        }

        private async Task ServeAsync(TcpClient client)
        {
            using (client)
            {
                try
                {
                    var stream = client.GetStream();
                    var buffer = new byte[8192];
                    int total = 0;
                    while (total < buffer.Length && !Encoding.ASCII.GetString(buffer, 0, total).Contains("\r\n\r\n", StringComparison.Ordinal))
                    {
                        int read = await stream.ReadAsync(buffer.AsMemory(total), _stop.Token);
                        if (read == 0) return;
                        total += read;
                    }

                    Interlocked.Increment(ref _requests);
                    if (Delay > TimeSpan.Zero) await Task.Delay(Delay, _stop.Token);
                    byte[] body = Encoding.UTF8.GetBytes(Body);
                    string head = $"HTTP/1.1 {Status} X\r\nContent-Type: application/json\r\nConnection: close\r\n"
                        + (ChunkedWithoutLength ? "" : $"Content-Length: {body.Length}\r\n") + "\r\n";
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(head), _stop.Token);
                    await stream.WriteAsync(body, _stop.Token);
                }
                catch (Exception e) when (e is IOException or OperationCanceledException or SocketException)
                {
                    // The client went away (a refused body, a timeout): nothing to do.
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            try
            {
                await _loop;
            }
            catch (OperationCanceledException)
            {
            }

            _stop.Dispose();
        }
    }
}
