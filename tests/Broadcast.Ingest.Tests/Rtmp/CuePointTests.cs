using System.Buffers;
using System.Collections.Concurrent;
using Broadcast.Ingest.Rtmp;
using Broadcast.Ingest.Rtmp.Client;
using Broadcast.Ingest.Tests.Restream;
using Broadcast.Media;
using Broadcast.Media.Scte35;
using Broadcast.TestSupport;

namespace Broadcast.Ingest.Tests.Rtmp;

/// <summary>onCuePoint data messages (ad breaks announced by encoders): the wire form, the refusals, and a publish on loopback.</summary>
[Trait("Kind", "Component")]
public class CuePointTests
{
    /// <summary>A splice_insert out of the network, 30 s with auto return, as a hardware encoder sends it.</summary>
    internal static readonly SpliceInfoSection SpliceOut = new()
    {
        CommandType = SpliceCommandType.SpliceInsert,
        Insert = new SpliceInsert { EventId = 0x4800008F, OutOfNetwork = true, Immediate = true, BreakDuration = 2_700_000, AutoReturn = true },
    };

    private static AmfObject Object(params (string Key, object? Value)[] properties)
    {
        var o = new AmfObject();
        foreach (var (key, value) in properties) o[key] = value;
        return o;
    }

    /// <summary>The AMF0 payload of a data message: "onCuePoint" then the object.</summary>
    internal static byte[] Payload(AmfObject body, string name = RtmpCuePoint.OnCuePoint)
    {
        var buffer = new ArrayBufferWriter<byte>();
        new RtmpDataMessage(name, [body]).Write(buffer);
        return buffer.WrittenSpan.ToArray();
    }

    internal static AmfObject YouTube(double duration, double preRoll = 2.56, double id = 7) => Object(
        ("type", RtmpCuePoint.YouTubeType), ("version", "0.1"), ("pre_roll_time_sec", preRoll), ("cue_point_start", true),
        ("break_duration_sec", duration), ("splice_event_id", id));

    internal static AmfObject Adobe(string cue) => Object(
        ("name", "scte35"), ("time", 12.5), ("type", "event"), ("parameters", Object(("cue", cue))));

    // (name, decoded, bytes): the data message payload as it arrives (type 18), and the break it announces.
    public static TheoryData<string, RtmpCuePoint, byte[]> Cases => new()
    {
        { "YouTube cue point: 30 s break, 2.56 s pre-roll, event 7", new RtmpCuePoint(7, 2560, 30_000, null), Payload(YouTube(30)) },
        {
            "YouTube cue point without pre-roll or event id",
            new RtmpCuePoint(null, 0, 15_000, null),
            Payload(Object(("type", RtmpCuePoint.YouTubeType), ("cue_point_start", true), ("break_duration_sec", 15.0)))
        },
        { "Adobe cue point with a base64 splice_insert in its parameters", new RtmpCuePoint(0x4800008F, 0, 30_000, SpliceOut), Payload(Adobe(Convert.ToBase64String(SpliceOut.ToArray()))) },
        {
            "cue point named by its hex section (0x)",
            new RtmpCuePoint(0x4800008F, 0, 30_000, SpliceOut),
            Payload(Object(("name", "0x" + Convert.ToHexString(SpliceOut.ToArray())), ("type", "event")))
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reads(string name, RtmpCuePoint decoded, byte[] bytes)
    {
        Assert.True(RtmpDataMessage.TryRead(bytes, false, out var message, out var amfError), $"{name}: {amfError}");
        Assert.True(RtmpCuePoint.TryRead(message!, out var cue, out var refusal), $"{name}: {refusal}");
        Assert.Null(refusal);
        Assert.Equal(decoded, cue);
    }

    public static TheoryData<string, byte[], string> Refusals => new()
    {
        { "YouTube cue point ending a break early", Payload(Object(("type", RtmpCuePoint.YouTubeType), ("cue_point_start", false), ("break_duration_sec", 30.0))), "cue_point_start false" },
        { "YouTube cue point without a duration", Payload(Object(("type", RtmpCuePoint.YouTubeType), ("cue_point_start", true))), "break_duration_sec" },
        { "YouTube cue point of half a second", Payload(YouTube(0.5)), "break_duration_sec" },
        { "YouTube cue point with a negative duration", Payload(YouTube(-30)), "break_duration_sec" },
        { "YouTube cue point with a 10 minute pre-roll", Payload(YouTube(30, preRoll: 600)), "pre_roll_time_sec 600" },
        { "splice_insert return", Payload(Adobe(Convert.ToBase64String((SpliceOut with { Insert = SpliceOut.Insert! with { OutOfNetwork = false } }).ToArray()))), "return to the network" },
        { "splice_insert cancel", Payload(Adobe(Convert.ToBase64String((SpliceOut with { Insert = new SpliceInsert { EventId = 3, Cancel = true } }).ToArray()))), "cancel" },
        { "splice_insert without break_duration", Payload(Adobe(Convert.ToBase64String((SpliceOut with { Insert = SpliceOut.Insert! with { BreakDuration = null } }).ToArray()))), "no break_duration" },
        { "time_signal", Payload(Adobe(Convert.ToBase64String(new SpliceInfoSection { CommandType = SpliceCommandType.TimeSignal, TimeSignalPts = 5 }.ToArray()))), "TimeSignal is not a splice_insert" },
        { "a cue point with words only", Payload(Adobe("chapter 2")), "no SCTE-35" },
        { "a section whose CRC is wrong", Payload(Adobe("/DARAAAAAAAAAP/wAAAAAHpPv/4=")), "no SCTE-35" },
        { "onCuePoint with nothing after its name", Payload(Object())[..13], "without an object" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Refuses_with_a_reason(string name, byte[] bytes, string reason)
    {
        Assert.True(RtmpDataMessage.TryRead(bytes, false, out var message, out _), name);
        Assert.False(RtmpCuePoint.TryRead(message!, out _, out var refusal), name);
        Assert.Contains(reason, refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void Other_data_messages_are_no_cue_points()
    {
        var metadata = new RtmpDataMessage(RtmpDataMessage.SetDataFrame, [RtmpDataMessage.OnMetaData, new AmfObject()]);
        Assert.False(RtmpCuePoint.TryRead(metadata, out _, out var refusal));
        Assert.Null(refusal);
    }

    [Fact]
    public async Task A_cue_point_published_on_loopback_asks_the_stream_for_a_break_at_its_place_among_the_frames()
    {
        var source = RtmpPublishClientTests.DemuxFfmpegClip(seconds: 5);
        await using var host = await RtmpTestHost.StartAsync();
        var target = new RtmpPublishTarget(false, "127.0.0.1", host.EndPoint.Port, "live", TestPublishAuthorizer.GoodKey);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var client = await RtmpPublishClient.PublishAsync(target, null, timeout.Token);
        var stream = host.Registry.Find("news")!;
        var cues = new BlockingCollection<(SpliceCue Cue, long? VideoTime)>();
        stream.CueInserted += (s, cue) => cues.Add((cue, s.LastVideoTime));
        using var reader = stream.OpenReader("check", 8192);
        long Ms(MediaFrame f) => Timescales.Rescale(f.Dts, f.Track.Timescale, Timescales.Milliseconds);
        long baseMs = Ms(source.Frames[0]);
        int sent = 0;
        async Task SendUntilAsync(long ms)
        {
            while (sent < source.Frames.Count && Ms(source.Frames[sent]) - baseMs < ms)
                Assert.True(await client.SendFrameAsync(source.Frames[sent++], timeout.Token));
        }
        Task Cue(AmfObject body) => client.SendDataAsync(new RtmpDataMessage(RtmpCuePoint.OnCuePoint, [body]), timeout.Token).AsTask();

        await SendUntilAsync(500);
        await Cue(YouTube(30, preRoll: 1));
        Assert.True(cues.TryTake(out var youTube, TimeSpan.FromSeconds(20)), "no cue reached the stream");
        Assert.Equal(7u, youTube.Cue.EventId);
        Assert.Equal(30 * 90_000, youTube.Cue.Duration);
        Assert.Equal("rtmp", youTube.Cue.Source);
        // The client stamps it with its newest frame's time (audio may run a little ahead of video): the break is asked
        // for that far past the newest video frame, plus the pre-roll.
        var sentFrames = source.Frames.Take(sent).ToList();
        long audioLead = sentFrames.Max(Ms) - sentFrames.Where(f => f.Kind == MediaKind.Video).Max(Ms);
        Assert.Equal(youTube.VideoTime + Timescales.Rescale(audioLead + 1000, Timescales.Milliseconds, Timescales.Video), youTube.Cue.SpliceTime);

        // A second one in the same second is a flood: dropped, said once.
        await Cue(YouTube(30, id: 8));
        await SendUntilAsync(1700);
        await Cue(Adobe(Convert.ToBase64String(SpliceOut.ToArray())));
        Assert.True(cues.TryTake(out var scte35, TimeSpan.FromSeconds(20)), "no SCTE-35 cue reached the stream");
        Assert.Equal(SpliceOut, scte35.Cue.Section);
        Assert.Equal(0x4800008Fu, scte35.Cue.EventId);

        // One it cannot use is logged and the publish goes on.
        await SendUntilAsync(2900);
        await Cue(YouTube(-1));
        await SendUntilAsync(4100);
        await Cue(YouTube(20, preRoll: 0, id: 9));
        Assert.True(cues.TryTake(out var after, TimeSpan.FromSeconds(20)));
        Assert.Equal(9u, after.Cue.EventId);
        await SendUntilAsync(long.MaxValue);
        Assert.Contains(host.Logs.Entries, e => e.EventId == 1051 && e.Message.Contains("break_duration_sec", StringComparison.Ordinal));
        Assert.Single(host.Logs.Entries, e => e.EventId == 1051 && e.Message.Contains("closer than one second", StringComparison.Ordinal));
        // The stream hears of a cue before the connection logs it: the third line may follow the event a moment later.
        await WaitFor.ConditionAsync(() => host.Logs.Entries.Count(e => e.EventId == 1050) >= 3, TimeSpan.FromSeconds(20), "the third accepted cue's log line");
        Assert.Equal(3, host.Logs.Entries.Count(e => e.EventId == 1050));
        Assert.Empty(cues);
        foreach (var f in source.Frames) f.Release();
    }
}
