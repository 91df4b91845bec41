using System.Net;
using Broadcast.Ingest.Rtmp;
using Broadcast.Ingest.Tests.Fuzzing;
using Broadcast.Media;
using Broadcast.TestSupport;
using Broadcast.TestSupport.Fuzzing;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Broadcast.Ingest.Tests.Rtmp;

/// <summary>
/// Garbage connections from a second address (127.0.0.2) against a real RtmpServer on loopback while a real ffmpeg
/// publishes (a component test: ffmpeg makes the clip and publishes it).
/// </summary>
[Trait("Kind", "Component")]
public sealed class RtmpGarbageBesideFfmpegTests(ITestOutputHelper output)
{
    private static readonly IPAddress SecondAddress = IPAddress.Parse("127.0.0.2");

    private void DumpLog(RtmpTestHost host)
    {
        foreach (var entry in host.Logs.Entries.TakeLast(40)) output.WriteLine($"{entry.EventId} {entry.Level}: {entry.Message}");
    }

    [Fact]
    public async Task Garbage_connections_never_crash_the_server_while_ffmpeg_publishes()
    {
        using var dir = new TempDirectory("rtmp-limits");
        string clip = Path.Combine(dir.Path, "clip.flv");
        var (clipCode, clipOutput) = await FfmpegPublishTests.RunAsync("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
            "-t", "8", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv", clip);
        Assert.True(clipCode == 0, clipOutput);

        await using var host = await RtmpTestHost.StartAsync(new() { ["Rtmp:HandshakeTimeoutSeconds"] = "3" });
        try
        {
            LiveStream? published = null;
            host.Registry.Published += s => published = s;
            var publisher = FfmpegPublishTests.RunAsync("ffmpeg", "-hide_banner", "-loglevel", "warning", "-re", "-i", clip,
                "-c", "copy", "-f", "flv", $"rtmp://127.0.0.1:{host.EndPoint.Port}/live/{TestPublishAuthorizer.GoodKey}");

            // Garbage from the second address while ffmpeg streams: mutated handshakes, and mutated chunk streams
            // after a good handshake. Bounded: 80 connections, 4 at a time.
            var handshakeSeeds = RtmpFuzzTests.HandshakeSeeds();
            var chunkSeeds = RtmpFuzzTests.ChunkSeeds();
            var mutator = new Mutator(8 * 1024);
            await Parallel.ForAsync(0, 80, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
            {
                var random = FuzzRandom.ForIteration(FuzzSettings.Seed, i);
                await using var client = await RtmpTestClient.ConnectAsync(host.EndPoint, SecondAddress);
                try
                {
                    if (i % 2 == 0)
                    {
                        await client.SendRawAsync(mutator.Mutate(random.Pick(handshakeSeeds), handshakeSeeds, random));
                    }
                    else
                    {
                        await client.HandshakeAsync();
                        await client.SendRawAsync(mutator.Mutate(random.Pick(chunkSeeds), chunkSeeds, random));
                    }
                    client.ShutdownSend();
                    await client.WaitClosedByServerAsync();
                }
                catch (IOException)
                {
                    // the server closed first: what garbage deserves
                }
            });

            var (code, ffmpegOutput) = await publisher;
            Assert.True(code == 0, ffmpegOutput);
            Assert.NotNull(published);
            Assert.True(await RtmpTestHost.EventuallyAsync(() => published!.IsCompleted));
            Assert.True(published!.Statistics.VideoFrames >= 190, $"{published.Statistics.VideoFrames} video frames");
            Assert.True(published.Statistics.AudioFrames > 0);
            // No exception escaped a parser (event 1010 logs those at Error) and every garbage connection is gone.
            Assert.DoesNotContain(host.Logs.Entries, e => e.Level >= LogLevel.Error);
            Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Connections.Count == 0));
            Assert.True(host.Logs.Entries.Count(e => e.EventId == 1004) >= 40, "garbage was refused with logged reasons");
        }
        finally
        {
            DumpLog(host);
        }
    }
}
