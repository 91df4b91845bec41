using System.Collections.Concurrent;
using Broadcast.Ingest.Srt;
using Broadcast.Ingest.Tests.Rtmp;
using Broadcast.Media;
using Broadcast.Media.Scte35;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Ingest.Tests.Srt;

/// <summary>
/// SCTE-35 over SRT: an ffmpeg-made H.264 + AAC TS whose PMT lists a splice PID carrying real splice_info_sections, sent
/// over libsrt on loopback by ffmpeg. The break reaches the channel's stream at its splice time; the sections that are
/// no break are logged once each and the publish goes on.
/// </summary>
[Trait("Kind", "Component")]
public class SrtScte35Tests
{
    private const int SpliceCueEvent = 1115;
    private const int SpliceIgnoredEvent = 1116;

    [Fact]
    public async Task A_splice_insert_on_the_splice_pid_asks_the_stream_for_a_break_at_its_splice_time()
    {
        await using var host = await RtmpTestHost.StartAsync(new Dictionary<string, string?> { ["Srt:Port"] = "0", ["Srt:BindAddress"] = "127.0.0.1" });
        var cues = new BlockingCollection<SpliceCue>();
        host.Registry.Published += stream => stream.CueInserted += (_, cue) => cues.Add(cue);

        using var dir = new TempDirectory();
        string clip = dir.Combine("clip.ts");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error",
            "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-t", "6", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-f", "mpegts", clip);
        var writer = new Scte35TsWriter();
        var ts = writer.WithSplicePid(File.ReadAllBytes(clip));

        // After the video PES that begins past the clip's second second: a heartbeat, the break (2 s after that
        // picture, split across two packets), its repeat, and a cancel.
        var (packet, pts) = TsVideoPes.From(ts, 2 * Timescales.Video);
        long spliceTime = pts + 2 * Timescales.Video;
        var breakOut = new SpliceInfoSection
        {
            CommandType = SpliceCommandType.SpliceInsert,
            Insert = new SpliceInsert { EventId = 77, OutOfNetwork = true, PtsTime = spliceTime, BreakDuration = 15 * Timescales.Video, AutoReturn = true },
            Descriptors = Convert.FromHexString("00084355454900000135"),
        };
        byte[] sections =
        [
            .. writer.Packets(new SpliceInfoSection { CommandType = SpliceCommandType.SpliceNull }),
            .. writer.Packets(breakOut, firstChunk: 16),
            .. writer.Packets(new SpliceInfoSection { CommandType = SpliceCommandType.SpliceNull }),
            .. writer.Packets(breakOut),
            .. writer.Packets(new SpliceInfoSection { CommandType = SpliceCommandType.SpliceInsert, Insert = new SpliceInsert { EventId = 77, Cancel = true } }),
        ];
        string path = dir.Combine("scte35.ts");
        File.WriteAllBytes(path, Scte35TsWriter.Insert(ts, packet + 1, sections));

        var server = host.Services.GetRequiredService<SrtServer>();
        await using var publisher = SrtPublisher.StartRawBytes(path, SrtPublisher.UrlFor(server.LocalEndPoint!, SrtPublisher.StreamId(TestPublishAuthorizer.GoodKey)));
        Assert.True(cues.TryTake(out var cue, TimeSpan.FromSeconds(60)), publisher.Log.Tail(30) + "\n" + Logs(host));
        Assert.Equal(new SpliceCue(77, spliceTime, 15 * Timescales.Video, breakOut, "srt"), cue);

        var stream = host.Registry.Find("news")!;
        Assert.True(await RtmpTestHost.EventuallyAsync(() => stream.Statistics.VideoFrames >= 140, 60), Logs(host)); // the whole clip came through
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Logs.Entries.Count(e => e.EventId == SpliceIgnoredEvent) >= 2, 30), Logs(host));
        Assert.Empty(cues); // the repeat is the same break
        Assert.Single(host.Logs.Entries, e => e.EventId == SpliceCueEvent && e.Message.Contains("ad break 77 of 15000 ms", StringComparison.Ordinal));
        var ignored = host.Logs.Entries.Where(e => e.EventId == SpliceIgnoredEvent).Select(e => e.Message).ToList();
        Assert.Equal(2, ignored.Count); // the second heartbeat is not logged again
        Assert.Contains(ignored, m => m.Contains("SpliceNull is not a splice_insert", StringComparison.Ordinal));
        Assert.Contains(ignored, m => m.Contains("splice_insert 77 is a cancel", StringComparison.Ordinal));
        Assert.DoesNotContain(host.Logs.Entries, e => e.EventId == 1103); // no protocol error closed the connection
    }

    private static string Logs(RtmpTestHost host) => string.Join("\n", host.Logs.Entries.Select(e => $"{e.EventId} {e.Message}"));
}
