using Broadcast.Media.Scte35;
using Broadcast.Packager.Manifests;

namespace Broadcast.Packager.Tests.Manifests;

/// <summary>LL-HLS playlists (parts, preload hint, rendition reports, delta updates) against golden files.</summary>
public sealed class LowLatencyPlaylistTests
{
    private const string Id = ManifestGoldenTests.Id;

    /// <summary>Parts of 0.3 s (9 frames) for segments <paramref name="from"/>..<paramref name="to"/>, the last open with <paramref name="openParts"/> parts.</summary>
    private static List<PartEntry> Parts(long from, long to, int openParts)
    {
        var parts = new List<PartEntry>();
        for (long n = from; n <= to; n++)
        {
            int count = n == to ? openParts : 7;
            for (int k = 0; k < count; k++)
            {
                long duration = n < to && k == 6 ? 18_000 : 27_000; // 6 x 0.3 s + 0.2 s = 2 s
                parts.Add(new PartEntry(n, k, duration, 90_000, k == 0, LowLatencyPlaylist.PartName(Id, n, k)));
            }
        }
        return parts;
    }

    internal static string Live(int segments, int window, int openParts, IReadOnlyList<AdBreak>? breaks = null)
    {
        var (video, _) = ManifestGoldenTests.Build(segments);
        string text = HlsPlaylistWriter.WriteMediaPlaylist(video, Id, video.WindowStart(window, 0), PlaylistState.Live, breaks);
        var view = new LowLatencyView(333, Parts(segments - 1, segments + 1, openParts),
            LowLatencyPlaylist.PartName(Id, segments + 1, openParts), [new RenditionReport("../audio/index.m3u8", segments + 1, openParts - 1)]);
        return LowLatencyPlaylist.Decorate(text, view);
    }

    [Fact]
    public void Parts_preload_hint_and_rendition_reports() => Golden.Verify("ll-media.m3u8", Live(4, 6, 2));

    [Fact]
    public void Delta_update_skips_segments_older_than_the_skip_boundary()
    {
        string full = Live(12, 12, 3);
        Golden.Verify("ll-window.m3u8", full);
        string? delta = LowLatencyPlaylist.ToDeltaUpdate(full);
        Assert.NotNull(delta);
        Golden.Verify("ll-delta.m3u8", delta);
        // 12 segments of 2 s, skip boundary 12 s: the first six end at least 12 s before the end.
        Assert.Contains("#EXT-X-SKIP:SKIPPED-SEGMENTS=6\n", delta, StringComparison.Ordinal);
        Assert.Contains("#EXT-X-MEDIA-SEQUENCE:1\n", delta, StringComparison.Ordinal);
        Assert.DoesNotContain($"{Id}-6.m4s\n", delta, StringComparison.Ordinal);
        Assert.Contains($"{Id}-7.m4s\n", delta, StringComparison.Ordinal);
    }

    /// <summary>
    /// A rewind window's playlist (no parts) offers delta updates too: version 9, a Skip Boundary of six target durations
    /// in its server control, and the same delta form; a low-latency one keeps a single server control (its own).
    /// </summary>
    [Fact]
    public void A_rewind_window_playlist_offers_delta_updates_and_low_latency_keeps_one_server_control()
    {
        var (video, _) = ManifestGoldenTests.Build(12);
        string full = HlsPlaylistWriter.WriteMediaPlaylist(video, Id, video.WindowStart(3, 3600), PlaylistState.Live, deltaUpdates: true);
        Golden.Verify("rewind-window.m3u8", full);
        Assert.Contains("#EXT-X-MEDIA-SEQUENCE:1\n", full, StringComparison.Ordinal); // the whole broadcast, not the last three
        string? delta = LowLatencyPlaylist.ToDeltaUpdate(full);
        Assert.NotNull(delta);
        Golden.Verify("rewind-delta.m3u8", delta);
        Assert.Contains("#EXT-X-SKIP:SKIPPED-SEGMENTS=6\n", delta, StringComparison.Ordinal);

        string ended = HlsPlaylistWriter.WriteMediaPlaylist(video, Id, 0, PlaylistState.Ended, deltaUpdates: true);
        Assert.DoesNotContain("#EXT-X-SERVER-CONTROL", ended, StringComparison.Ordinal);
        Assert.Contains("#EXT-X-VERSION:7\n", ended, StringComparison.Ordinal);

        var view = new LowLatencyView(333, Parts(12, 13, 2), LowLatencyPlaylist.PartName(Id, 13, 2), []);
        string lowLatency = LowLatencyPlaylist.Decorate(full, view);
        Assert.Single(lowLatency.Split('\n'), l => l.StartsWith("#EXT-X-SERVER-CONTROL:", StringComparison.Ordinal));
        Assert.Contains("CAN-BLOCK-RELOAD=YES", lowLatency, StringComparison.Ordinal);
    }

    [Fact]
    public void Low_latency_mpd_announces_the_segment_being_written_and_its_chunks()
    {
        var (v, a) = ManifestGoldenTests.Build(8);
        var start = new DateTimeOffset(2026, 11, 21, 5, 45, 12, TimeSpan.Zero);
        string mpd = DashManifestWriter.Write([v], a, new MpdSettings(Id, false, start, start.AddSeconds(16), 2, 12, "/time", FirstNumber: 3));
        string ll = LowLatencyMpd.Decorate(mpd, new LowLatencyMpdSettings(2, 333, start, 2000));
        Golden.Verify("ll-dynamic.mpd", ll);
        Assert.Contains("availabilityTimeOffset=\"1.667\" availabilityTimeComplete=\"false\"", ll, StringComparison.Ordinal);
        // Video: eight 2 s segments from 10 s; the one being written starts at 26 s, the next at 28 s.
        Assert.Contains("<S t=\"2340000\" d=\"180000\" r=\"1\"/>\n          </SegmentTimeline>", ll, StringComparison.Ordinal);
        Assert.Contains("<ProducerReferenceTime id=\"0\" type=\"encoder\" wallClockTime=\"2026-11-21T05:45:12.000Z\" presentationTime=\"900000\"/>", ll, StringComparison.Ordinal);
        Assert.Contains("<Latency referenceId=\"0\" target=\"2000\"", ll, StringComparison.Ordinal);
        Assert.Equal("MPD", System.Xml.Linq.XDocument.Parse(ll).Root!.Name.LocalName);
    }

    [Fact]
    public void Delta_update_keeps_the_date_ranges_of_the_segments_it_skips()
    {
        // A 4 s break from segment 2 to 4 (10 s + 2 s, + 4 s): both edges are among the six skipped segments.
        var (video, _) = ManifestGoldenTests.Build(12);
        var schedule = new AdBreakSchedule(2);
        Assert.True(schedule.TryAdd(new SpliceCue(5, 11 * 90_000, 4 * 90_000, null, "test"), 11 * 90_000, 90_000));
        foreach (var e in video.Entries) schedule.OnLeaderSegment(e);
        string full = Live(12, 12, 3, schedule.Placed);
        string delta = LowLatencyPlaylist.ToDeltaUpdate(full)!;
        Assert.Contains("#EXT-X-SKIP:SKIPPED-SEGMENTS=6\n", delta, StringComparison.Ordinal);
        // No CAN-SKIP-DATERANGES is declared, so both DATERANGEs stay (RFC 8216bis section 6.2.5.1).
        var ranges = full.Split('\n').Where(l => l.StartsWith("#EXT-X-DATERANGE:", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, ranges.Count);
        foreach (var range in ranges) Assert.Contains(range + "\n", delta, StringComparison.Ordinal);
    }

    /// <summary>
    /// An encrypted broadcast's key is listed once, before the first segment; the delta update repeats it with the
    /// EXT-X-MAP for the first segment it keeps, or a player merging it would take the kept segments for clear media.
    /// </summary>
    [Fact]
    public void Delta_update_repeats_the_key_in_force_before_the_first_segment_it_keeps()
    {
        var (video, _) = ManifestGoldenTests.Build(12);
        var protection = new ManifestProtection("cbcs", "01234567-89ab-cdef-0123-456789abcdef", []);
        string full = HlsPlaylistWriter.WriteMediaPlaylist(video, Id, 0, PlaylistState.Live, deltaUpdates: true, protection: protection);
        string key = "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"data:text/plain;base64,ASNFZ4mrze8BI0VniavN7w==\",KEYFORMAT=\"org.w3.clearkey\",KEYFORMATVERSIONS=\"1\"\n";
        Assert.Equal(full.IndexOf(key, StringComparison.Ordinal), full.LastIndexOf("#EXT-X-KEY:", StringComparison.Ordinal));
        string delta = LowLatencyPlaylist.ToDeltaUpdate(full)!;
        Assert.NotNull(delta);
        int skip = delta.IndexOf("#EXT-X-SKIP:", StringComparison.Ordinal), at = delta.IndexOf(key, StringComparison.Ordinal);
        Assert.True(skip > 0 && at > skip && at < delta.IndexOf("#EXT-X-MAP:", StringComparison.Ordinal) && at < delta.IndexOf("#EXTINF:", StringComparison.Ordinal), delta);
        // The clear playlist of the same timeline is the same text without the key.
        Assert.Equal(HlsPlaylistWriter.WriteMediaPlaylist(video, Id, 0, PlaylistState.Live, deltaUpdates: true), full.Replace(key, "", StringComparison.Ordinal));
    }

    private static string KeyTag(string method, byte first) =>
        $"#EXT-X-KEY:METHOD={method},URI=\"data:text/plain;base64,{Convert.ToBase64String(Enumerable.Repeat(first, 16).ToArray())}\",KEYFORMAT=\"org.w3.clearkey\",KEYFORMATVERSIONS=\"1\"\n";

    /// <summary>A rotated cbcs protection: key 0x11… from the first segment, 0x22… from segment 5, 0x33… from 9, each with
    /// a vendor's key tag beside ClearKey's (RFC 8216bis §4.4.4.4: one EXT-X-KEY per KEYFORMAT for the same segments).</summary>
    private static ManifestProtection Rotated()
    {
        static ManifestProtection Key(byte b) => new("cbcs", Convert.ToHexString(Enumerable.Repeat(b, 16).ToArray()), [])
        {
            HlsKeys = [new HlsKeyTags(1, $"#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://{b}\",KEYFORMAT=\"com.apple.streamingkeydelivery\"", "")],
        };
        return Key(0x11) with { Rotated = true, Rotations = [new ManifestKeyPeriod(5, Key(0x22)), new ManifestKeyPeriod(9, Key(0x33))] };
    }

    [Fact]
    public void A_rotated_playlist_names_each_key_before_its_first_segment_and_a_delta_update_repeats_only_the_one_in_force()
    {
        var protection = Rotated();
        Assert.Equal([0, 0, 1, 1, 2, 2], new long[] { 1, 4, 5, 8, 9, 100 }.Select(protection.PeriodOf));
        var (video, _) = ManifestGoldenTests.Build(12);
        string full = HlsPlaylistWriter.WriteMediaPlaylist(video, Id, 0, PlaylistState.Live, deltaUpdates: true, protection: protection);
        string a = KeyTag("SAMPLE-AES", 0x11), b = KeyTag("SAMPLE-AES", 0x22), c = KeyTag("SAMPLE-AES", 0x33);
        int at(string text, string what) => text.IndexOf(what, StringComparison.Ordinal);
        Assert.True(at(full, a) < at(full, "#EXT-X-MAP:") && at(full, $"{Id}-4.m4s") < at(full, b) && at(full, b) < at(full, $"{Id}-5.m4s")
            && at(full, $"{Id}-8.m4s") < at(full, c) && at(full, c) < at(full, $"{Id}-9.m4s"), full);
        Assert.True(at(full, "skd://34") < at(full, b), full); // the vendor's tag of each period stands with ClearKey's
        Assert.Equal(6, full.Split("#EXT-X-KEY:").Length - 1);

        // Six segments skipped: the first kept (7) is under 0x22…, so that run (vendor and ClearKey) goes before the map.
        string delta = LowLatencyPlaylist.ToDeltaUpdate(full)!;
        Assert.DoesNotContain(a, delta, StringComparison.Ordinal);
        Assert.DoesNotContain("skd://17", delta, StringComparison.Ordinal);
        Assert.True(at(delta, "#EXT-X-SKIP:") < at(delta, "skd://34") && at(delta, "skd://34") < at(delta, b) && at(delta, b) < at(delta, "#EXT-X-MAP:")
            && at(delta, $"{Id}-8.m4s") < at(delta, c), delta);
        Assert.Equal(4, delta.Split("#EXT-X-KEY:").Length - 1);
    }

    [Fact]
    public void The_parts_of_a_segment_that_starts_a_key_period_come_after_its_key()
    {
        // Segments 1-8 listed, parts of 9 still open: 9 starts the third period, so its key goes before its parts.
        var (video, _) = ManifestGoldenTests.Build(8);
        var protection = Rotated();
        string text = HlsPlaylistWriter.WriteMediaPlaylist(video, Id, video.WindowStart(6, 0), PlaylistState.Live, protection: protection);
        var view = new LowLatencyView(333, Parts(8, 9, 2), LowLatencyPlaylist.PartName(Id, 9, 2), []);
        string ll = LowLatencyPlaylist.Decorate(text, view, protection);
        string c = KeyTag("SAMPLE-AES", 0x33);
        int key = ll.IndexOf(c, StringComparison.Ordinal);
        Assert.True(key > ll.IndexOf($"{Id}-8.m4s", StringComparison.Ordinal) && key < ll.IndexOf(LowLatencyPlaylist.PartName(Id, 9, 0), StringComparison.Ordinal), ll);
        // Without rotation, or with the open segment in the listed one's period, nothing is added.
        Assert.Equal(LowLatencyPlaylist.Decorate(text, view), LowLatencyPlaylist.Decorate(text, view, protection with { Rotations = [] }));
    }

    [Fact]
    public void A_short_playlist_has_nothing_to_skip() => Assert.Null(LowLatencyPlaylist.ToDeltaUpdate(Live(4, 6, 2)));

    [Fact]
    public void An_ordinary_playlist_has_no_position_and_no_delta()
    {
        var (video, _) = ManifestGoldenTests.Build(9);
        string text = HlsPlaylistWriter.WriteMediaPlaylist(video, Id, 0, PlaylistState.Live);
        Assert.Null(LowLatencyPlaylist.ToDeltaUpdate(text));
        Assert.False(LowLatencyPlaylist.ReadPosition(System.Text.Encoding.UTF8.GetBytes(text)).HasHint);
    }

    [Fact]
    public void The_position_names_the_hinted_part_the_part_target_and_the_parts_of_the_last_complete_segment()
    {
        // Segments 3 and 4 complete with seven parts each, segment 5 open with two; the hint is part 5.2.
        var position = LowLatencyPlaylist.ReadPosition(System.Text.Encoding.UTF8.GetBytes(Live(4, 6, 2)));
        Assert.Equal(new LowLatencyPlaylist.Position(5, 2, 2, true, 333, 7), position);
        // Just after a segment closed: its parts are counted, the open one has none yet.
        Assert.Equal(new LowLatencyPlaylist.Position(5, 0, 2, true, 333, 7), LowLatencyPlaylist.ReadPosition(System.Text.Encoding.UTF8.GetBytes(Live(4, 6, 0))));
    }

    [Theory]
    [InlineData("#EXT-X-PART-INF:PART-TARGET=abc\n", 0)]
    [InlineData("#EXT-X-PART-INF:PART-TARGET=-0.5\n", 0)]
    [InlineData("#EXT-X-PART-INF:PART-TARGET=99999\n", 0)]
    [InlineData("#EXT-X-PART-INF:PART-TARGET=0.368\n", 368)]
    [InlineData("#EXT-X-PART-INF:PART-TARGET=1.5", 1500)]
    public void The_part_target_is_read_only_when_it_is_a_number_of_seconds(string line, int milliseconds)
    {
        string text = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n" + line + "\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"a-5.2.m4s\"\n";
        Assert.Equal(milliseconds, LowLatencyPlaylist.ReadPosition(System.Text.Encoding.UTF8.GetBytes(text)).PartTargetMilliseconds);
    }

    [Theory]
    [InlineData("20261121T054512Z-12.3.m4s", true, 12L, 3)]
    [InlineData("chan/source/20261121T054512Z-1.0.m4s", true, 1L, 0)]
    [InlineData("20261121T054512Z-12.m4s", false, 0L, 0)]
    [InlineData("20261121T054512Z-x.3.m4s", false, 0L, 0)]
    [InlineData("20261121T054512Z-12.-3.m4s", false, 0L, 0)]
    [InlineData("12.3.m4s", false, 0L, 0)]
    [InlineData("a-1.2.mp4", false, 0L, 0)]
    [InlineData("", false, 0L, 0)]
    [InlineData("a-99999999999999999999.1.m4s", false, 0L, 0)]
    [InlineData("a-1.99999999999.m4s", false, 0L, 0)]
    [InlineData("a-+1.2.m4s", false, 0L, 0)]
    [InlineData("a-1. 2.m4s", false, 0L, 0)]
    [InlineData("a-.2.m4s", false, 0L, 0)]
    public void Part_names_read_back(string name, bool ok, long number, int index)
    {
        Assert.Equal(ok, LowLatencyPlaylist.TryParsePartName(name, out long n, out int k));
        if (ok) Assert.Equal((number, index), (n, k));
        // The byte form (a playlist's URI attribute) reads the same.
        Assert.Equal(ok, LowLatencyPlaylist.TryParsePartName(System.Text.Encoding.ASCII.GetBytes(name), out long bn, out int bk));
        if (ok) Assert.Equal((number, index), (bn, bk));
    }

    [Theory]
    [InlineData("")]
    [InlineData("#EXTM3U\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"")]
    [InlineData("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"junk.m4s\"\n#EXT-X-TARGETDURATION:abc\n")]
    [InlineData("#EXT-X-TARGETDURATION:")]
    public void Malformed_playlists_have_no_position(string text) =>
        Assert.False(LowLatencyPlaylist.ReadPosition(System.Text.Encoding.UTF8.GetBytes(text)).HasHint);
}
