using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Broadcast.Ingest.Rtmps;
using Broadcast.Ingest.Tests.Rtmp;
using Broadcast.Media;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broadcast.Ingest.Tests.Rtmps;

/// <summary>A real RTMPS listener on 127.0.0.1 next to the RTMP one, with a certificate made in-test.</summary>
[Trait("Kind", "Component")]
public sealed class RtmpsServerTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _dir = new("rtmps-server");
    private readonly X509Certificate2 _certificate = TestCertificates.CreateSelfSigned("rtmps-server-test");

    public void Dispose()
    {
        _certificate.Dispose();
        _dir.Dispose();
    }

    private Task<RtmpTestHost> StartAsync(int handshakeTimeoutSeconds = 10)
    {
        var (cert, key) = TestCertificates.WritePem(_certificate, _dir.Path);
        return RtmpTestHost.StartAsync(new Dictionary<string, string?>
        {
            // The RTMPS port must be told up front: 0 means "off" for Rtmps:Port.
            ["Rtmps:Port"] = FreePort.Tcp().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Rtmps:CertificatePath"] = cert,
            ["Rtmps:KeyPath"] = key,
            ["Rtmp:HandshakeTimeoutSeconds"] = handshakeTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
    }

    private static IPEndPoint RtmpsEndPoint(RtmpTestHost host) => host.Services.GetRequiredService<RtmpsServer>().LocalEndPoint!;

    private static string Logs(RtmpTestHost host) => string.Join(Environment.NewLine, host.Logs.Entries.Select(e => $"{e.EventId} {e.Level} {e.Message}"));

    /// <summary>Sends <paramref name="bytes"/> and reads until the server closes; true when it did within the bound.</summary>
    private static async Task<bool> ServerClosesAfterAsync(IPEndPoint endPoint, byte[] bytes)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(endPoint.Address, endPoint.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(bytes);
        using var cts = new CancellationTokenSource(Bound);
        var buffer = new byte[4096];
        try
        {
            for (int reads = 0; reads < 1000; reads++)
                if (await stream.ReadAsync(buffer, cts.Token) == 0) return true;
        }
        catch (IOException)
        {
            return true; // reset by the server
        }
        catch (OperationCanceledException)
        {
        }
        return false;
    }

    [Fact]
    public async Task Ffmpeg_publishes_over_tls_while_plain_rtmp_and_garbage_on_the_tls_port_are_refused()
    {
        var spec = new ClipSpec { Seconds = 8, Width = 320, Height = 240 };
        string clip = await TestMedia.GetClipAsync(spec);
        await using var host = await StartAsync();
        var endPoint = RtmpsEndPoint(host);
        var published = new TaskCompletionSource<LiveStream>(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Registry.Published += s => published.TrySetResult(s);

        await using var publisher = FfmpegPublisher.Start(clip, $"rtmps://127.0.0.1:{endPoint.Port}/live/{TestPublishAuthorizer.GoodKey}");
        var stream = await published.Task.WaitAsync(Bound);
        Assert.Equal("news", stream.Name);
        Assert.Contains(host.Logs.Entries, e => e.EventId == 1024 && e.Message.Contains("Tls1", StringComparison.Ordinal));

        // While the TLS publisher is live: a plain RTMP client (C0 + C1), an HTTP request and a broken TLS record.
        byte[] c0c1 = [3, .. new byte[1536]];
        Assert.True(await ServerClosesAfterAsync(endPoint, c0c1), "plain RTMP client was not disconnected");
        Assert.True(await ServerClosesAfterAsync(endPoint, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray()), "HTTP client was not disconnected");
        Assert.True(await ServerClosesAfterAsync(endPoint, [0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]), "broken TLS client was not disconnected");
        Assert.True(await RtmpTestHost.EventuallyAsync(() =>
            host.Logs.Entries.Any(e => e.EventId == 1021 && e.Level == LogLevel.Warning && e.Message.Contains("plain RTMP", StringComparison.Ordinal))
            && host.Logs.Entries.Any(e => e.EventId == 1022 && e.Message.Contains("0x47", StringComparison.Ordinal))
            && host.Logs.Entries.Any(e => e.EventId == 1023 && e.Message.Contains("TLS handshake failed", StringComparison.Ordinal))), Logs(host));
        Assert.False(publisher.HasExited, $"the TLS publisher stopped while others were refused:{Environment.NewLine}{publisher.Log.Tail(20)}{Environment.NewLine}{Logs(host)}");

        // The publisher finishes its clip untouched: every video frame arrived.
        Assert.Equal(0, await publisher.WaitForExitAsync(Bound));
        Assert.True(await RtmpTestHost.EventuallyAsync(() => stream.IsCompleted), Logs(host));
        Assert.Equal(spec.ExpectedVideoFrames, stream.Statistics.VideoFrames);
        Assert.True(stream.Statistics.AudioFrames > 0);
        Assert.Equal(320, stream.Video!.Width);
        Assert.DoesNotContain(host.Logs.Entries, e => e.EventId is 1004 or 1010 || e.Level >= LogLevel.Error);
        // The connection leaves the server's list just after its publish ends (on another thread).
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Connections.Count == 0), $"{host.Connections.Count} connection(s) still open{Environment.NewLine}{Logs(host)}");
    }

    [Fact]
    public async Task Wrong_key_over_tls_gets_BadName_like_rtmp()
    {
        string clip = await TestMedia.GetClipAsync(new ClipSpec { Seconds = 2 });
        await using var host = await StartAsync();
        await using var publisher = FfmpegPublisher.Start(clip, $"rtmps://127.0.0.1:{RtmpsEndPoint(host).Port}/live/not-a-key");
        Assert.NotEqual(0, await publisher.WaitForExitAsync(Bound));
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Logs.Entries.Any(e => e.EventId == 1006 && e.Message.Contains("NetStream.Publish.BadName", StringComparison.Ordinal))), Logs(host));
    }

    [Fact]
    public async Task A_silent_client_is_closed_after_the_handshake_timeout()
    {
        await using var host = await StartAsync(handshakeTimeoutSeconds: 1);
        var endPoint = RtmpsEndPoint(host);
        Assert.True(await ServerClosesAfterAsync(endPoint, []), "silent client was not disconnected");
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Logs.Entries.Any(e => e.EventId == 1023 && e.Message.Contains("not completed within 1 s", StringComparison.Ordinal))), Logs(host));
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Connections.Count == 0), Logs(host));
    }

    [Fact]
    public async Task A_replaced_certificate_serves_the_next_connection_without_a_restart()
    {
        await using var host = await StartAsync();
        var endPoint = RtmpsEndPoint(host);
        Assert.Equal(_certificate.Thumbprint, await PresentedThumbprintAsync(endPoint));

        using var renewed = TestCertificates.CreateSelfSigned("rtmps-renewed");
        var (cert, key) = TestCertificates.WritePem(renewed, _dir.Path);
        File.SetLastWriteTimeUtc(cert, DateTime.UtcNow.AddMinutes(1)); // whole-second file systems: the rewrite may share a second
        File.SetLastWriteTimeUtc(key, DateTime.UtcNow.AddMinutes(1));
        Assert.Equal(renewed.Thumbprint, await PresentedThumbprintAsync(endPoint));
        Assert.Contains(host.Logs.Entries, e => e.EventId == 1025);
    }

    [Fact]
    public async Task A_bad_certificate_file_stops_the_start_naming_the_key_and_path()
    {
        string garbage = _dir.Combine("garbage.crt");
        await File.WriteAllTextAsync(garbage, "not a certificate");
        var error = await Assert.ThrowsAsync<RtmpsCertificateException>(() => RtmpTestHost.StartAsync(new Dictionary<string, string?>
        {
            ["Rtmps:Port"] = FreePort.Tcp().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Rtmps:CertificatePath"] = garbage,
        }));
        Assert.Contains("Rtmps:CertificatePath", error.Message);
        Assert.Contains(garbage, error.Message);
    }

    [Fact]
    public async Task Rtmps_is_off_unless_a_port_is_set()
    {
        await using var host = await RtmpTestHost.StartAsync(new Dictionary<string, string?> { ["Rtmps:Port"] = "0" });
        Assert.Null(host.Services.GetService<RtmpsServer>());
    }

    private static async Task<string?> PresentedThumbprintAsync(IPEndPoint endPoint)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(endPoint.Address, endPoint.Port);
        string? thumbprint = null;
        await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, certificate, _, _) =>
        {
            thumbprint = certificate is null ? null : new X509Certificate2(certificate).Thumbprint;
            return true; // self-signed on purpose
        });
        using var cts = new CancellationTokenSource(Bound);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }, cts.Token);
        return thumbprint;
    }
}
