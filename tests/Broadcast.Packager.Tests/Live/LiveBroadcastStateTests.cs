using System.Text;
using Broadcast.Media;
using Broadcast.Packager.Live;
using Broadcast.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace Broadcast.Packager.Tests.Live;

/// <summary>
/// The live state object another node reads back to continue a broadcast: what it reads from the bytes a packager
/// wrote, and every malformed object refused with a reason (the caller then starts a new broadcast), never an exception.
/// </summary>
public sealed class LiveBroadcastStateTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset At = new(2026, 11, 21, 5, 45, 12, TimeSpan.Zero);

    private static LiveBroadcastState Sample(bool ended = false) => new(LiveBroadcastState.CurrentVersion, "20261121T054512Z", At.AddSeconds(6), ended,
        new BroadcastOrigin(At, 0, 0, 0),
        [
            new RenditionState("source", true, 90_000, 0, 0,
            [
                new SegmentState(1, 0, 180_000, 4000, 60, true, false, 0, At, 0, 0),
                new SegmentState(2, 180_000, 180_000, 4100, 60, true, false, 0, At.AddSeconds(2), 0, 0),
            ]),
            new RenditionState("audio", false, 48_000, 0, 0, [new SegmentState(2, 96_000, 96_000, 900, 94, true, false, 0, At.AddSeconds(2), 0, 0)]),
        ]);

    internal const string SampleJson =
        "{\"version\":1,\"broadcastId\":\"20261121T054512Z\",\"updatedAt\":\"2026-11-21T05:45:18+00:00\",\"ended\":false," +
        "\"origin\":{\"availabilityStart\":\"2026-11-21T05:45:12+00:00\",\"presentationOrigin\":0,\"periodIdBase\":0,\"firstPeriodStart\":0}," +
        "\"renditions\":[{\"name\":\"source\",\"video\":true,\"timescale\":90000,\"lastInitVersion\":0,\"discontinuitiesBefore\":0,\"segments\":[" +
        "{\"number\":1,\"start\":0,\"duration\":180000,\"byteSize\":4000,\"sampleCount\":60,\"startsWithKeyframe\":true,\"discontinuity\":false,\"initVersion\":0," +
        "\"programDateTime\":\"2026-11-21T05:45:12+00:00\",\"presentationStartOffset\":0,\"presentationEndOffset\":0}," +
        "{\"number\":2,\"start\":180000,\"duration\":180000,\"byteSize\":4100,\"sampleCount\":60,\"startsWithKeyframe\":true,\"discontinuity\":false,\"initVersion\":0," +
        "\"programDateTime\":\"2026-11-21T05:45:14+00:00\",\"presentationStartOffset\":0,\"presentationEndOffset\":0}],\"tracks\":null}," +
        "{\"name\":\"audio\",\"video\":false,\"timescale\":48000,\"lastInitVersion\":0,\"discontinuitiesBefore\":0,\"segments\":[" +
        "{\"number\":2,\"start\":96000,\"duration\":96000,\"byteSize\":900,\"sampleCount\":94,\"startsWithKeyframe\":true,\"discontinuity\":false,\"initVersion\":0," +
        "\"programDateTime\":\"2026-11-21T05:45:14+00:00\",\"presentationStartOffset\":0,\"presentationEndOffset\":0}],\"tracks\":null}],\"journaledThrough\":0,\"breaks\":null,\"protection\":null}";

    [Fact]
    public void The_written_bytes_read_back_as_the_state()
    {
        var bytes = Sample().ToJson();
        Assert.Equal(SampleJson, Encoding.UTF8.GetString(bytes));
        var read = LiveBroadcastState.TryParse(bytes, out string? error);
        Assert.True(read is not null, error);
        Assert.Equal(SampleJson, Encoding.UTF8.GetString(read.ToJson()));
        Assert.Equal(2, read.LastNumber);
        Assert.Equal(360_000, read.MediaEnd);
        Assert.Equal(At.AddSeconds(4), read.MediaEndWallClock);
        Assert.Equal("chan/live-state.json", LiveBroadcastState.Key("chan"));
    }

    public static TheoryData<string, string, string> Malformed => new()
    {
        { "not JSON", "]]", "not JSON" },
        { "null", "null", "empty state" },
        { "another version", SampleJson.Replace("\"version\":1", "\"version\":7", StringComparison.Ordinal), "version 7" },
        { "a broadcast id that is no key", SampleJson.Replace("20261121T054512Z", "../other", StringComparison.Ordinal), "invalid broadcast id" },
        { "no renditions", SampleJson[..SampleJson.IndexOf("\"renditions\"", StringComparison.Ordinal)] + "\"renditions\":[]}", "no renditions" },
        { "no origin", SampleJson.Replace("\"origin\":{\"availabilityStart\":\"2026-11-21T05:45:12+00:00\",\"presentationOrigin\":0,\"periodIdBase\":0,\"firstPeriodStart\":0},", "", StringComparison.Ordinal), "no origin" },
        { "a rendition name with a slash", SampleJson.Replace("\"name\":\"audio\"", "\"name\":\"a/b\"", StringComparison.Ordinal), "invalid rendition name" },
        { "a zero timescale", SampleJson.Replace("\"timescale\":48000", "\"timescale\":0", StringComparison.Ordinal), "timescale 0" },
        { "numbers out of order", SampleJson.Replace("\"number\":2,\"start\":180000", "\"number\":1,\"start\":180000", StringComparison.Ordinal), "out of order" },
        { "an init version above the last", SampleJson.Replace("\"sampleCount\":94,\"startsWithKeyframe\":true,\"discontinuity\":false,\"initVersion\":0", "\"sampleCount\":94,\"startsWithKeyframe\":true,\"discontinuity\":false,\"initVersion\":3", StringComparison.Ordinal), "out of order" },
        { "a journal bound off the chunk grid", SampleJson.Replace("\"journaledThrough\":0", "\"journaledThrough\":31", StringComparison.Ordinal), "journaled through 31" },
        { "a track of an unknown codec", SampleJson.Replace("\"tracks\":null}],", "\"tracks\":[{\"initVersion\":0,\"codec\":\"Flac\",\"codecString\":\"fLaC\",\"decoderConfig\":null,\"width\":0,\"height\":0,\"frameRateNumerator\":0,\"frameRateDenominator\":0,\"sampleRate\":48000,\"channels\":2}]}],", StringComparison.Ordinal), "codec 'Flac'" },
        { "a track whose config is not base64", SampleJson.Replace("\"tracks\":null}],", "\"tracks\":[{\"initVersion\":0,\"codec\":\"Aac\",\"codecString\":\"mp4a.40.2\",\"decoderConfig\":\"%%\",\"width\":0,\"height\":0,\"frameRateNumerator\":0,\"frameRateDenominator\":0,\"sampleRate\":48000,\"channels\":2}]}],", StringComparison.Ordinal), "decoder configuration" },
        { "a track of an init version never stored", SampleJson.Replace("\"tracks\":null}],", "\"tracks\":[{\"initVersion\":4,\"codec\":\"Aac\",\"codecString\":\"mp4a.40.2\",\"decoderConfig\":\"EhA=\",\"width\":0,\"height\":0,\"frameRateNumerator\":0,\"frameRateDenominator\":0,\"sampleRate\":48000,\"channels\":2}]}],", StringComparison.Ordinal), "init version 4" },
        { "a break that ends before it starts", SampleJson.Replace("\"breaks\":null", "\"breaks\":[{\"eventId\":7,\"startNumber\":5,\"startDate\":\"2026-11-21T05:45:22+00:00\",\"startTime\":900000,\"startPresentation\":900000,\"timescale\":90000,\"plannedDuration\":540000,\"outSection\":\"/DA=\",\"endNumber\":4,\"duration\":0,\"inSection\":\"/DA=\"}]", StringComparison.Ordinal), "break 0: numbers or times out of order" },
        { "a break without its out section", SampleJson.Replace("\"breaks\":null", "\"breaks\":[{\"eventId\":7,\"startNumber\":5,\"startDate\":\"2026-11-21T05:45:22+00:00\",\"startTime\":900000,\"startPresentation\":900000,\"timescale\":90000,\"plannedDuration\":540000,\"outSection\":\"\",\"endNumber\":null,\"duration\":null,\"inSection\":null}]", StringComparison.Ordinal), "break 0: splice sections" },
        { "a protection scheme this code does not write", SampleJson.Replace("\"protection\":null", "\"protection\":{\"scheme\":\"cens\",\"keyId\":\"0123456789abcdef0123456789abcdef\"}", StringComparison.Ordinal), "protection scheme 'cens'" },
        { "a protection key id that is short", SampleJson.Replace("\"protection\":null", "\"protection\":{\"scheme\":\"cbcs\",\"keyId\":\"0123\"}", StringComparison.Ordinal), "protection key id" },
        { "a protection key id that is not hex", SampleJson.Replace("\"protection\":null", "\"protection\":{\"scheme\":\"cbcs\",\"keyId\":\"0123456789abcdef0123456789abcdeg\"}", StringComparison.Ordinal), "protection key id" },
        { "a protection without its key id", SampleJson.Replace("\"protection\":null", "\"protection\":{\"scheme\":\"cbcs\"}", StringComparison.Ordinal), "protection key id" },
        { "a key period whose key id is short", WithPeriods("{\"firstSegment\":4,\"keyId\":\"0123\"}"), "a key period's key id" },
        { "a key period without its key id", WithPeriods("{\"firstSegment\":4}"), "a key period's key id" },
        { "a null key period", WithPeriods("null"), "a key period's key id" },
        { "key periods out of order", WithPeriods($"{Period(6)},{Period(4)}"), "key periods out of order" },
        { "two key periods from one segment", WithPeriods($"{Period(4)},{Period(4)}"), "key periods out of order" },
        { "a key period from segment 0", WithPeriods(Period(0)), "key periods out of order" },
        { "more key periods than a state names", WithPeriods(string.Join(',', Enumerable.Range(1, ProtectionState.MaxPeriods + 1).Select(Period))), "key periods, more than" },
        { "a number that is text", SampleJson.Replace("\"number\":1,", "\"number\":\"one\",", StringComparison.Ordinal), "not JSON" },
    };

    /// <summary>The sample's state, protected by cbcs, naming <paramref name="periods"/> (JSON array members) as its later key periods.</summary>
    internal static string WithPeriods(string periods) => SampleJson.Replace("\"protection\":null",
        $"\"protection\":{{\"scheme\":\"cbcs\",\"keyId\":\"0123456789abcdef0123456789abcdef\",\"periods\":[{periods}]}}", StringComparison.Ordinal);

    internal static string Period(int firstSegment) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{{\"firstSegment\":{firstSegment},\"keyId\":\"{firstSegment:x32}\"}}");

    /// <summary>A rotated broadcast's later key periods (first segment and KID) read back; a state with none names none.</summary>
    [Fact]
    public void A_rotated_broadcast_s_later_key_periods_read_back_in_order()
    {
        var read = LiveBroadcastState.TryParse(Encoding.UTF8.GetBytes(WithPeriods($"{Period(4)},{Period(9)}")), out string? error);
        Assert.True(read is not null, error);
        Assert.Equal([4L, 9L], read.Protection!.Periods!.Select(p => p.FirstSegment));
        Assert.Equal(Broadcast.Packager.Cmaf.Encryption.KeyId.FromBytes(Convert.FromHexString($"{9:x32}")), read.Protection.Periods![1].ToKeyId());
        var written = Encoding.UTF8.GetString(read.ToJson());
        Assert.Contains("\"periods\":[{\"firstSegment\":4,", written, StringComparison.Ordinal);
    }

    /// <summary>A protected broadcast's state keeps its scheme and KID (never the key), which a continuing node asks its key provider for.</summary>
    [Fact]
    public void A_protected_broadcast_s_scheme_and_kid_read_back_and_a_state_without_them_reads_as_clear()
    {
        var kid = Broadcast.Packager.Cmaf.Encryption.KeyId.FromBytes(Convert.FromHexString("0123456789abcdef0123456789abcdef"));
        var key = new Broadcast.Packager.Cmaf.Encryption.ContentKey(kid, Convert.FromHexString("3c4f5d6e7f8091a2b3c4d5e6f708192a"));
        var protection = BroadcastProtection.From(Broadcast.Packager.Cmaf.Encryption.EncryptionScheme.Cbcs, new ContentKeyGrant(key, []));
        var bytes = (Sample() with { Protection = ProtectionState.Of(protection) }).ToJson();
        string json = Encoding.UTF8.GetString(bytes);
        Assert.EndsWith("\"protection\":{\"scheme\":\"cbcs\",\"keyId\":\"0123456789abcdef0123456789abcdef\"}}", json, StringComparison.Ordinal);
        Assert.DoesNotContain("3c4f5d6e", json, StringComparison.OrdinalIgnoreCase);
        var read = LiveBroadcastState.TryParse(bytes, out string? error)!;
        Assert.True(read is not null, error);
        Assert.Equal(Broadcast.Packager.Cmaf.Encryption.EncryptionScheme.Cbcs, read.Protection!.ToScheme());
        Assert.Equal(kid, read.Protection.ToKeyId());
        // A state written before protection was kept has no such member.
        var older = LiveBroadcastState.TryParse(Encoding.UTF8.GetBytes(SampleJson.Replace(",\"protection\":null", "", StringComparison.Ordinal)), out error);
        Assert.True(older is not null && older.Protection is null, error);
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void A_malformed_state_is_refused_with_its_reason(string name, string json, string reason)
    {
        Assert.Null(LiveBroadcastState.TryParse(Encoding.UTF8.GetBytes(json), out string? error));
        Assert.True(error is not null && error.Contains(reason, StringComparison.Ordinal), $"{name}: {error}");
    }

    [Fact]
    public void A_state_written_before_the_recording_journal_reads_as_journaled_through_zero()
    {
        string older = SampleJson.Replace(",\"journaledThrough\":0", "", StringComparison.Ordinal);
        var read = LiveBroadcastState.TryParse(Encoding.UTF8.GetBytes(older), out string? error);
        Assert.True(read is not null, error);
        Assert.Equal(0, read.JournaledThrough);
    }

    [Fact]
    public void A_tracks_description_reads_back_as_the_same_track()
    {
        var video = new VideoTrack(Codec.H264, new byte[] { 1, 0x64, 0, 0x1f, 0xff }, "avc1.64001f", 1280, 720, frameRate: new FrameRate(30000, 1001));
        var audio = new AudioTrack(Codec.Aac, new byte[] { 0x12, 0x10 }, "mp4a.40.2", 48000, 2);
        var readVideo = Assert.IsType<VideoTrack>(TrackState.Of(3, video).ToTrack(video: true));
        Assert.True(readVideo.HasSameConfig(video));
        Assert.Equal((video.CodecString, 1280, 720, new FrameRate(30000, 1001)), (readVideo.CodecString, readVideo.Width, readVideo.Height, readVideo.FrameRate!.Value));
        var readAudio = Assert.IsType<AudioTrack>(TrackState.Of(0, audio).ToTrack(video: false));
        Assert.True(readAudio.HasSameConfig(audio));
        Assert.Equal((48000, 2), (readAudio.SampleRate, readAudio.Channels));
        Assert.Null(TrackState.Of(0, audio).ToTrack(video: true)); // an audio description is no picture
    }

    [Fact]
    public void A_break_reads_back_as_the_same_break()
    {
        var placed = new Broadcast.Packager.Manifests.AdBreak(9, 4, At, 540_000, 540_000, 90_000, 270_000, new byte[] { 0xFC, 0x30, 1 })
        {
            EndNumber = 6,
            Duration = 360_000,
            InSection = new byte[] { 0xFC, 0x30, 2 },
        };
        var back = BreakState.Of(placed).ToBreak();
        Assert.Equal((placed.EventId, placed.StartNumber, placed.StartDate, placed.EndNumber, placed.Duration), (back.EventId, back.StartNumber, back.StartDate, back.EndNumber, back.Duration));
        Assert.Equal(placed.OutSection.ToArray(), back.OutSection.ToArray());
        Assert.Equal(placed.InSection.ToArray(), back.InSection.ToArray());
        Assert.Null(BreakState.Invalid([BreakState.Of(placed), BreakState.Of(placed with { StartNumber = 6, EndNumber = null, Duration = null, InSection = default })]));
        Assert.NotNull(BreakState.Invalid([BreakState.Of(placed with { EndNumber = null, Duration = null, InSection = default }), BreakState.Of(placed)])); // a running break is the last
    }

    [Fact]
    public void An_object_over_the_size_bound_is_refused_unread()
    {
        Assert.Null(LiveBroadcastState.TryParse(new byte[LiveBroadcastState.MaxBytes + 1], out string? error));
        Assert.Contains("larger than", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Fuzz_any_bytes_are_read_or_refused_without_an_exception()
    {
        byte[][] seeds = [Encoding.UTF8.GetBytes(SampleJson), .. Malformed.Select(row => Encoding.UTF8.GetBytes((string)row[1]))];
        var report = FuzzRunner.Run("live-state", seeds, (input, _) => LiveBroadcastState.TryParse(input, out string? _) is { } state && state.LastNumber >= 0,
            new FuzzOptions { MaxInputLength = 4096 });
        output.WriteLine(report.ToString());
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }
}
