using Broadcast.Media.MpegTs;
using Broadcast.Media.Scte35;
using Broadcast.TestSupport;

namespace Broadcast.Media.Tests.MpegTs;

/// <summary>
/// SCTE-35 on a program's splice PID (SCTE 35 §8.1): a real ffmpeg TS whose PMT is made to list a stream_type 0x86 PID,
/// with splice_info_sections packetized onto it between the media packets. A splice_insert starting a break becomes a
/// <see cref="SpliceCue"/> at its splice time on the stream's timeline; anything else, malformed bytes included, a
/// refusal with a reason; the media goes on either way.
/// </summary>
[Trait("Kind", "Component")]
public sealed class MpegTsSpliceTests : IDisposable
{
    private const long Second = Timescales.Video;

    private readonly TempDirectory _dir = new();
    private readonly byte[] _clip;

    public MpegTsSpliceTests()
    {
        string path = _dir.Combine("clip.ts");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error",
            "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-f", "mpegts", path);
        _clip = File.ReadAllBytes(path);
    }

    public void Dispose() => _dir.Dispose();

    private static SpliceInfoSection Out(uint eventId, long? pts, long duration = 30 * Second, long adjustment = 0) => new()
    {
        PtsAdjustment = adjustment, CommandType = SpliceCommandType.SpliceInsert,
        Insert = new SpliceInsert { EventId = eventId, OutOfNetwork = true, Immediate = pts is null, PtsTime = pts, BreakDuration = duration, AutoReturn = true },
    };

    /// <summary>
    /// The clip with the splice PID in its PMT, demuxed up to its middle; then <paramref name="packets"/> (made knowing the
    /// newest picture's time); then the rest. Returns what the splice packets gave and the newest picture's time then.
    /// </summary>
    private (IReadOnlyList<SpliceSignal> Signals, long Now, MpegTsDemuxer Demuxer, LiveStream Stream) Demux(Func<long, Scte35TsWriter, byte[]> packets)
    {
        var writer = new Scte35TsWriter();
        var ts = writer.WithSplicePid(_clip);
        int middle = ts.Length / 188 / 2;
        var stream = new LiveStream("ts");
        var demuxer = new MpegTsDemuxer(stream);
        Assert.True(demuxer.TryWrite(ts.AsSpan(0, middle * 188), out var error), error);
        Assert.Equal(Scte35TsWriter.DefaultPid, demuxer.SplicePid);
        Assert.Empty(demuxer.IgnoredStreams);
        long now = stream.LastVideoTime!.Value;
        Assert.True(demuxer.TryWrite(packets(now, writer), out error), error);
        var signals = demuxer.SpliceSignals.ToList();
        long frames = stream.Statistics.VideoFrames;
        Assert.True(demuxer.TryWrite(ts.AsSpan(middle * 188), out error), error);
        Assert.True(stream.Statistics.VideoFrames > frames, "the media after the splice packets was lost");
        return (signals, now, demuxer, stream);
    }

    // (name, the section relative to the newest picture's time, where the break lands relative to it)
    public static TheoryData<string, Func<long, SpliceInfoSection>, long> Breaks => new()
    {
        { "splice_insert out 2 s ahead, 30 s break", now => Out(7, now + 2 * Second), 2 * Second },
        { "splice_immediate_flag: at the newest picture", _ => Out(8, null), 0 },
        { "pts_adjustment carries pts_time past the 33-bit wrap", now => Out(9, now + 6 * Second, adjustment: PtsUnwrapper.Range - 5 * Second), Second },
        { "a splice time already past (the section came late) means now", now => Out(10, now - Second / 2), 0 },
    };

    [Theory]
    [MemberData(nameof(Breaks))]
    public void A_splice_insert_out_becomes_a_cue_at_its_splice_time(string name, Func<long, SpliceInfoSection> section, long ahead)
    {
        SpliceInfoSection? sent = null;
        var (signals, now, demuxer, stream) = Demux((now, writer) => writer.Packets(sent = section(now)));
        var signal = Assert.Single(signals);
        Assert.True(signal.Cue is not null, $"{name}: {signal.Refusal}");
        Assert.Equal(new SpliceCue(sent!.Insert!.EventId, now + ahead, 30 * Second, sent, "mpegts"), signal.Cue);
        Assert.Equal(0, demuxer.ContinuityErrors);
        demuxer.Dispose();
        stream.Complete();
    }

    [Fact]
    public void A_section_split_across_two_packets_is_gathered()
    {
        SpliceInfoSection? sent = null;
        var (signals, now, demuxer, _) = Demux((now, writer) =>
        {
            // a splice_insert with a descriptor, 10 bytes in the first packet and the rest in the next
            sent = Out(11, now + Second) with { Descriptors = Convert.FromHexString("00084355454900000135") };
            var packets = writer.Packets(sent, firstChunk: 10);
            Assert.Equal(2 * 188, packets.Length);
            return packets;
        });
        Assert.Equal(now + Second, Assert.Single(signals).Cue!.SpliceTime);
        Assert.Equal(sent, signals[0].Section);
        demuxer.Dispose();
    }

    [Fact]
    public void A_repeated_section_is_read_once()
    {
        var (signals, _, demuxer, _) = Demux((now, writer) => [.. writer.Packets(Out(12, now + Second)), .. writer.Packets(Out(12, now + Second))]);
        Assert.Single(signals);
        demuxer.Dispose();
    }

    // (name, the section or raw packets to send, what the refusal says)
    public static TheoryData<string, Func<long, Scte35TsWriter, byte[]>, string> Refusals => new()
    {
        { "splice_insert return", (now, w) => w.Packets(Out(20, now) with { Insert = Out(20, now).Insert! with { OutOfNetwork = false } }), "return to the network" },
        { "splice_insert cancel", (_, w) => w.Packets(new SpliceInfoSection { CommandType = SpliceCommandType.SpliceInsert, Insert = new SpliceInsert { EventId = 21, Cancel = true } }), "cancel" },
        { "time_signal", (now, w) => w.Packets(new SpliceInfoSection { CommandType = SpliceCommandType.TimeSignal, TimeSignalPts = now }), "TimeSignal is not a splice_insert" },
        { "splice_null heartbeat", (_, w) => w.Packets(new SpliceInfoSection { CommandType = SpliceCommandType.SpliceNull }), "SpliceNull is not a splice_insert" },
        { "splice_insert without break_duration", (now, w) => w.Packets(Out(22, now) with { Insert = Out(22, now).Insert! with { BreakDuration = null } }), "no break_duration" },
        { "a splice time five minutes ahead", (now, w) => w.Packets(Out(23, now + 300 * Second)), "300 s from the video" },
        { "CRC broken", (now, w) => Broken(w.Packets(Out(24, now)), 5 + 14), "malformed SCTE-35 splice_info_section on PID 496: CrcMismatch" },
        { "not a splice_info_section (table_id 0xFD)", (now, w) => Broken(w.Packets(Out(25, now)), 5, 0xFD), "NotSpliceInfo" },
        { "pointer_field past the packet", (now, w) => Broken(w.Packets(Out(26, now)), 4, 190), "pointer_field 190 runs past the packet" },
        { "section_length beyond any splice_info_section", (now, w) => Broken(Broken(w.Packets(Out(27, now)), 6, 0x3F), 7, 0xFF), "longer than 4093 bytes" },
    };

    /// <summary>Packets with one byte changed: XOR 1, or set to <paramref name="value"/>.</summary>
    private static byte[] Broken(byte[] packets, int at, int? value = null)
    {
        packets[at] = value is int v ? (byte)v : (byte)(packets[at] ^ 0x01);
        return packets;
    }

    [Theory]
    [MemberData(nameof(Refusals))]
    public void A_section_that_is_no_break_is_refused_with_a_reason_and_the_stream_goes_on(string name, Func<long, Scte35TsWriter, byte[]> packets, string reason)
    {
        var (signals, _, demuxer, _) = Demux(packets);
        var signal = Assert.Single(signals);
        Assert.Null(signal.Cue);
        Assert.True(signal.Refusal?.Contains(reason, StringComparison.Ordinal), $"{name}: {signal.Refusal}");
        demuxer.Dispose();
    }

    [Fact]
    public void A_section_that_lost_a_packet_is_dropped_and_counted()
    {
        var (signals, _, demuxer, _) = Demux((now, writer) =>
        {
            var packets = writer.Packets(Out(30, now + Second), firstChunk: 10);
            var next = writer.Packets(Out(31, now + 2 * Second));
            return [.. packets.AsSpan(0, 188), .. next]; // the second half of event 30 never comes
        });
        // Event 30's start is dropped at the gap; event 31 starts a new section and arrives whole.
        Assert.Equal(31u, Assert.Single(signals).Cue!.EventId);
        Assert.Equal(1, demuxer.ContinuityErrors);
        demuxer.Dispose();
    }
}
