using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Broadcast.Network.Outbound;
using Broadcast.TestSupport;
using Broadcast.Ingest.Pull.Proxy;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Ingest.Tests.Pull;

/// <summary>
/// The pull proxy on loopback. The policy allows 127.0.0.1 alone (<c>Outbound:AllowedNetworks=127.0.0.1/32</c>), so a
/// listener on 127.0.0.2 stands for a private address: the policy's own decision refuses it, and the test sees that no
/// connection ever reached it. Nothing leaves loopback.
/// </summary>
[Trait("Kind", "Component")]
public sealed class OutboundHttpProxyTests
{
    private static readonly OutboundGuard Guard = new(new OutboundUrlPolicy(OutboundAllowList.Parse([], ["127.0.0.1/32"])), new FakeHostResolver());
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_get_to_an_allowed_address_is_forwarded_in_origin_form_and_the_answer_returned()
    {
        await using var origin = LoopbackHttp.Start(IPAddress.Loopback, "hello");
        await using var proxy = OutboundHttpProxy.Start(Guard, NullLogger.Instance, TimeSpan.FromSeconds(5));
        string answer = await ExchangeAsync(proxy, $"GET http://127.0.0.1:{origin.Port}/live/a.m3u8 HTTP/1.1\r\nHost: 127.0.0.1:{origin.Port}\r\nProxy-Connection: keep-alive\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK", answer, StringComparison.Ordinal);
        Assert.EndsWith("hello", answer, StringComparison.Ordinal);
        var request = Assert.Single(origin.Requests);
        Assert.StartsWith("GET /live/a.m3u8 HTTP/1.1\r\n", request, StringComparison.Ordinal);
        Assert.DoesNotContain("Proxy-Connection", request, StringComparison.Ordinal);
        Assert.Null(proxy.LastRefusal);
    }

    [Fact]
    public async Task A_destination_the_policy_refuses_gets_403_and_is_never_connected_to()
    {
        await using var refusedTarget = LoopbackHttp.Start(IPAddress.Parse("127.0.0.2"), "secret");
        await using var proxy = OutboundHttpProxy.Start(Guard, NullLogger.Instance, TimeSpan.FromSeconds(5));
        string get = await ExchangeAsync(proxy, $"GET http://127.0.0.2:{refusedTarget.Port}/latest/meta-data/ HTTP/1.1\r\nHost: 127.0.0.2\r\n\r\n");
        string connect = await ExchangeAsync(proxy, $"CONNECT 127.0.0.2:{refusedTarget.Port} HTTP/1.1\r\n\r\n");
        // A name is resolved and checked here: this one resolves to the metadata address.
        string byName = await ExchangeAsync(proxy, "CONNECT metadata.test:443 HTTP/1.1\r\n\r\n");
        // And a plain http:// GET by name, resolving to a private network.
        string port = await ExchangeAsync(proxy, "GET http://private.test:8080/ HTTP/1.1\r\n\r\n");
        foreach (var (what, answer) in new[] { ("get", get), ("connect", connect), ("by name", byName), ("private by name", port) })
            Assert.True(answer.StartsWith("HTTP/1.1 403 Forbidden", StringComparison.Ordinal), $"{what}: {answer}");
        Assert.Equal(4, proxy.Refused);
        Assert.False(string.IsNullOrEmpty(proxy.LastRefusal));
        Assert.DoesNotContain("secret", get + connect, StringComparison.Ordinal);
        Assert.Equal(0, refusedTarget.Accepted);
    }

    [Fact]
    public async Task Connect_to_an_allowed_address_tunnels_bytes_both_ways()
    {
        await using var origin = LoopbackHttp.Start(IPAddress.Loopback, "through the tunnel");
        await using var proxy = OutboundHttpProxy.Start(Guard, NullLogger.Instance, TimeSpan.FromSeconds(5));
        using var client = await ConnectAsync(proxy);
        // The request after CONNECT rides in the same segment, as a TLS ClientHello would.
        await client.SendAsync(System.Text.Encoding.ASCII.GetBytes($"CONNECT 127.0.0.1:{origin.Port} HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n"));
        string answer = await ReadAllAsync(client);
        Assert.StartsWith("HTTP/1.1 200 Connection Established\r\n\r\nHTTP/1.1 200 OK", answer, StringComparison.Ordinal);
        Assert.EndsWith("through the tunnel", answer, StringComparison.Ordinal);
        Assert.StartsWith("GET /x HTTP/1.1", Assert.Single(origin.Requests), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_requests_get_400_and_the_proxy_keeps_serving()
    {
        await using var origin = LoopbackHttp.Start(IPAddress.Loopback, "still here");
        await using var proxy = OutboundHttpProxy.Start(Guard, NullLogger.Instance, TimeSpan.FromSeconds(5));
        foreach (var bad in new[] { "GET /relative HTTP/1.1\r\n\r\n", "BREW http://127.0.0.1/ HTTP/1.1\r\n\r\n", "\0\0\0\r\n\r\n", "GET http://127.0.0.1/ HTTP/1.1\r\nX: " + new string('a', 17_000) })
        {
            Assert.StartsWith("HTTP/1.1 400 Bad Request", await ExchangeAsync(proxy, bad), StringComparison.Ordinal);
        }

        Assert.EndsWith("still here", await ExchangeAsync(proxy, $"GET http://127.0.0.1:{origin.Port}/ HTTP/1.1\r\n\r\n"), StringComparison.Ordinal);
    }

    /// <summary>
    /// The hole this closes: an HLS playlist on an allowed host naming segments on a refused one. ffprobe, told to use the
    /// proxy as a pull attempt tells it, reads the playlist and fails on the segment, which never reaches the refused host;
    /// with the segment on the allowed host, the same command reads the stream.
    /// </summary>
    [Fact]
    public async Task Ffprobe_through_the_proxy_reads_an_allowed_hls_source_and_cannot_reach_a_segment_on_a_refused_host()
    {
        using var dir = new TempDirectory("pull-proxy");
        string segmentPath = Path.Combine(dir.Path, "seg0.ts");
        var encode = await RunAsync("ffmpeg", ["-hide_banner", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=1", "-c:v", "libx264", "-f", "mpegts", "-y", segmentPath]);
        Assert.True(encode.ExitCode == 0, encode.Output);
        byte[] segment = await File.ReadAllBytesAsync(segmentPath);

        await using var refusedHost = LoopbackHttp.Start(IPAddress.Parse("127.0.0.2"), segment);
        await using var segments = LoopbackHttp.Start(IPAddress.Loopback, segment);
        await using var bad = LoopbackHttp.Start(IPAddress.Loopback, Playlist($"http://127.0.0.2:{refusedHost.Port}/seg0.ts"));
        await using var good = LoopbackHttp.Start(IPAddress.Loopback, Playlist($"http://127.0.0.1:{segments.Port}/seg0.ts"));

        await using (var proxy = OutboundHttpProxy.Start(Guard, NullLogger.Instance, TimeSpan.FromSeconds(5)))
        {
            var refused = await RunAsync("ffprobe", Probe(proxy, $"http://127.0.0.1:{bad.Port}/index.m3u8"));
            Assert.True(refused.ExitCode != 0 || !refused.Output.Contains("h264", StringComparison.Ordinal), refused.Output);
            Assert.True(proxy.Refused >= 1, $"refused {proxy.Refused}: {refused.Output}");
            Assert.Equal(0, refusedHost.Accepted);
        }

        await using (var proxy = OutboundHttpProxy.Start(Guard, NullLogger.Instance, TimeSpan.FromSeconds(5)))
        {
            var read = await RunAsync("ffprobe", Probe(proxy, $"http://127.0.0.1:{good.Port}/index.m3u8"));
            Assert.True(read.ExitCode == 0 && read.Output.Contains("h264", StringComparison.Ordinal), read.Output);
            Assert.Equal(0, proxy.Refused);
            Assert.True(segments.Accepted >= 1);
        }
    }

    private static string[] Probe(OutboundHttpProxy proxy, string url) =>
        ["-hide_banner", "-v", "error", "-rw_timeout", "10000000", "-protocol_whitelist", "http,https,tls,tcp,crypto,data,httpproxy", "-max_redirects", "0",
         "-http_proxy", proxy.Url, "-show_entries", "stream=codec_name", "-of", "csv=p=0", url];

    private static string Playlist(string segmentUrl) =>
        $"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1.0,\n{segmentUrl}\n#EXT-X-ENDLIST\n";

    private static async Task<(int ExitCode, string Output)> RunAsync(string tool, string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Bound);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} ran past {Bound.TotalSeconds} s");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private static async Task<Socket> ConnectAsync(OutboundHttpProxy proxy)
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, new Uri(proxy.Url).Port));
        return client;
    }

    private static async Task<string> ExchangeAsync(OutboundHttpProxy proxy, string request)
    {
        using var client = await ConnectAsync(proxy);
        try
        {
            await client.SendAsync(System.Text.Encoding.Latin1.GetBytes(request));
        }
        catch (SocketException)
        {
            // The proxy may close on an oversized head before reading it all; its answer is still there to read.
        }

        return await ReadAllAsync(client);
    }

    private static async Task<string> ReadAllAsync(Socket client)
    {
        using var timeout = new CancellationTokenSource(Bound);
        var received = new MemoryStream();
        var buffer = new byte[8192];
        try
        {
            while (true)
            {
                int n = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (n == 0) break;
                received.Write(buffer, 0, n);
            }
        }
        catch (SocketException)
        {
        }

        return System.Text.Encoding.Latin1.GetString(received.ToArray());
    }

    /// <summary>A one-answer HTTP server on a loopback address: every request gets 200 with the same body, then the connection closes.</summary>
    private sealed class LoopbackHttp : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly byte[] _body;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private readonly List<string> _requests = [];
        private int _accepted;

        private LoopbackHttp(IPAddress address, byte[] body)
        {
            _body = body;
            _listener = new TcpListener(address, 0);
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _loop = ServeAsync();
        }

        public int Port { get; }

        public int Accepted => Volatile.Read(ref _accepted);

        public IReadOnlyList<string> Requests { get { lock (_requests) return [.. _requests]; } }

        public static LoopbackHttp Start(IPAddress address, string body) => new(address, System.Text.Encoding.ASCII.GetBytes(body));

        public static LoopbackHttp Start(IPAddress address, byte[] body) => new(address, body);

        private async Task ServeAsync()
        {
            try
            {
                while (true)
                {
                    using var client = await _listener.AcceptSocketAsync(_stop.Token);
                    Interlocked.Increment(ref _accepted);
                    var head = new MemoryStream();
                    var buffer = new byte[4096];
                    while (!System.Text.Encoding.Latin1.GetString(head.ToArray()).Contains("\r\n\r\n", StringComparison.Ordinal))
                    {
                        int n = await client.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                        if (n == 0) break;
                        head.Write(buffer, 0, n);
                    }

                    lock (_requests) _requests.Add(System.Text.Encoding.Latin1.GetString(head.ToArray()));
                    await client.SendAsync(System.Text.Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {_body.Length}\r\nConnection: close\r\n\r\n"));
                    await client.SendAsync(_body);
                    client.Shutdown(SocketShutdown.Both);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _loop;
            _stop.Dispose();
        }
    }
}
