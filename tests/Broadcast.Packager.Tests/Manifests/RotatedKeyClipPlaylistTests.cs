using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Manifests;

namespace Broadcast.Packager.Tests.Manifests;

/// <summary>
/// A key-rotated broadcast's stored playlists read per segment and clipped (docs/protection.md): each key period's tags
/// stand before its first segment, a tag replaces the one of its KEYFORMAT in force (RFC 8216bis §4.4.4.4), and a clip
/// (segment-accurate, and with its ends cut) writes each period's tags before the first segment it lists of that period;
/// a piece takes the tags of the stored segment it replaces. For 'aes-128' the key URI changes per period.
/// </summary>
public class RotatedKeyClipPlaylistTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 5, 45, 12, TimeSpan.Zero);
    private static readonly KeyId A = KeyId.FromBytes(Convert.FromHexString("0123456789abcdef0123456789abcdef"));
    private static readonly KeyId B = KeyId.FromBytes(Convert.FromHexString("fedcba9876543210fedcba9876543210"));
    private static readonly KeyId C = KeyId.FromBytes(Convert.FromHexString("00112233445566778899aabbccddeeff"));

    /// <summary>ClearKey's tag for <paramref name="kid"/>, as the packager writes it for 'cbcs'.</summary>
    private static string ClearKey(KeyId kid) => "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"data:text/plain;base64," + Convert.ToBase64String(kid.ToArray())
        + "\",KEYFORMAT=\"org.w3.clearkey\",KEYFORMATVERSIONS=\"1\"";

    private static string Vendor(string key) => $"#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://{key}\",KEYFORMAT=\"com.apple.streamingkeydelivery\"";

    /// <summary>The rewind window (segments 1 to 12 of 2 s) with <paramref name="tags"/> inserted before the segment numbered by each key.</summary>
    private static string Window(params (int Segment, string[] Tags)[] tags)
    {
        string text = ClipPlaylistTests.Window();
        foreach (var (segment, lines) in tags)
        {
            int at = segment == 1 ? text.IndexOf("#EXT-X-MAP:", StringComparison.Ordinal)
                : text.LastIndexOf("#EXTINF:", text.IndexOf($"Z-{segment}.m4s\n", StringComparison.Ordinal), StringComparison.Ordinal);
            text = text[..at] + string.Concat(lines.Select(l => l + "\n")) + text[at..];
        }
        return text;
    }

    private static string Rotated() => Window((1, [ClearKey(A), Vendor("a")]), (5, [ClearKey(B), Vendor("b")]), (8, [ClearKey(B)]), (10, [ClearKey(C)]));

    /// <summary>The key, map and segment lines of a playlist, in order.</summary>
    private static string[] Shape(string playlist) => playlist.Split('\n')
        .Where(l => l.StartsWith("#EXT-X-KEY:", StringComparison.Ordinal) || l.StartsWith("#EXT-X-MAP:", StringComparison.Ordinal)
            || l.Length > 0 && l[0] != '#').ToArray();

    [Fact]
    public void Each_segment_is_read_with_the_key_tags_of_its_period()
    {
        var playlist = StoredMediaPlaylist.Parse(Rotated());
        string[] a = [ClearKey(A), Vendor("a")], b = [ClearKey(B), Vendor("b")], c = [ClearKey(C), Vendor("b")];
        // Segments 1-4 under A, 5-9 under B (restated before 8: no change), 10-12 under C, whose period keeps B's vendor tag (§4.4.4.4).
        Assert.Equal([a, a, a, a, b, b, b, b, b, c, c, c], playlist.Segments.Select(s => s.KeyTags.ToArray()));
        Assert.Equal([A, A, A, A, B, B, B, B, B, C, C, C], playlist.Segments.Select(s => s.SampleKeyId!.Value));
        Assert.Equal(a, playlist.KeyTags);
        Assert.Same(playlist.Segments[4].KeyTags, playlist.Segments[8].KeyTags);
        Assert.Null(StoredMediaPlaylist.Parse(ClipPlaylistTests.Window()).Segments[0].SampleKeyId);
        Assert.Null(new StoredSegment("x", null, T0, TimeSpan.FromSeconds(2), false, false) { KeyTags = [Vendor("a")] }.SampleKeyId);

        // Tags of one KEYFORMAT between two segments stand together (one period's several tags of a format).
        var two = StoredMediaPlaylist.Parse(Window((1, [ClearKey(A), ClearKey(B)]), (3, [ClearKey(C), ClearKey(A)])));
        Assert.Equal([ClearKey(A), ClearKey(B)], two.Segments[0].KeyTags);
        // The next period's first ClearKey tag replaces both; the rest of its run stands beside it.
        Assert.Equal([ClearKey(C), ClearKey(A)], two.Segments[2].KeyTags);
    }

    [Fact]
    public void A_clip_names_each_period_s_key_before_the_first_segment_it_lists_of_it()
    {
        var playlist = StoredMediaPlaylist.Parse(Rotated());
        // Segments 3 to 11: A, then B before 5, C before 10; not B again before 8.
        var cut = ClipPlaylist.Cut(playlist, T0.AddSeconds(5), T0.AddSeconds(21), "../../source/")!;
        Assert.Equal(
        [
            ClearKey(A), Vendor("a"), "#EXT-X-MAP:URI=\"../../source/20261121T054512Z-init.mp4\"", "../../source/20261121T054512Z-3.m4s",
            "../../source/20261121T054512Z-4.m4s", ClearKey(B), Vendor("b"), "../../source/20261121T054512Z-5.m4s",
            "../../source/20261121T054512Z-6.m4s", "../../source/20261121T054512Z-7.m4s", "../../source/20261121T054512Z-8.m4s",
            "../../source/20261121T054512Z-9.m4s", ClearKey(C), Vendor("b"), "../../source/20261121T054512Z-10.m4s",
            "../../source/20261121T054512Z-11.m4s",
        ], Shape(cut.Playlist));
        // Read back as the finisher reads the clip, each segment keeps its period's key.
        var made = StoredMediaPlaylist.Parse(cut.Playlist);
        Assert.Equal(playlist.Segments.Skip(2).Take(9).Select(s => s.SampleKeyId), made.Segments.Select(s => s.SampleKeyId));

        // A clip within B's period names B alone, before its map.
        var within = ClipPlaylist.Cut(playlist, T0.AddSeconds(10), T0.AddSeconds(14), "")!;
        Assert.Equal([ClearKey(B), Vendor("b"), "#EXT-X-MAP:URI=\"20261121T054512Z-init.mp4\"", "20261121T054512Z-6.m4s", "20261121T054512Z-7.m4s"],
            Shape(within.Playlist));

        // Its ends cut: the first piece replaces segment 3 (A's) and takes A's tags, the last replaces 11 (C's) and takes C's.
        var first = new ClipPiece("source/first-init.mp4", "source/first.m4s", made.Segments[0].Start.AddSeconds(1), TimeSpan.FromSeconds(1));
        var last = new ClipPiece("source/last-init.mp4", "source/last.m4s", made.Segments[^1].Start, TimeSpan.FromSeconds(1));
        var ends = ClipEndsPlaylist.Write(made, first, last);
        Assert.Equal(
        [
            ClearKey(A), Vendor("a"), "#EXT-X-MAP:URI=\"source/first-init.mp4\"", "source/first.m4s",
            "#EXT-X-MAP:URI=\"../../source/20261121T054512Z-init.mp4\"", "../../source/20261121T054512Z-4.m4s",
            ClearKey(B), Vendor("b"), "../../source/20261121T054512Z-5.m4s", "../../source/20261121T054512Z-6.m4s",
            "../../source/20261121T054512Z-7.m4s", "../../source/20261121T054512Z-8.m4s", "../../source/20261121T054512Z-9.m4s",
            ClearKey(C), Vendor("b"), "../../source/20261121T054512Z-10.m4s", "#EXT-X-MAP:URI=\"source/last-init.mp4\"", "source/last.m4s",
        ], Shape(ends));
        Assert.Equal(made.Segments.Select(s => s.SampleKeyId), StoredMediaPlaylist.Parse(ends).Segments.Select(s => s.SampleKeyId));

        // A first piece cut from B's first segment takes B's tags, before its own map.
        var fromB = StoredMediaPlaylist.Parse(ClipPlaylist.Cut(playlist, T0.AddSeconds(9), T0.AddSeconds(13), "")!.Playlist);
        var piece = new ClipPiece("source/first-init.mp4", "source/first.m4s", fromB.Segments[0].Start.AddSeconds(1), TimeSpan.FromSeconds(1));
        Assert.Equal([ClearKey(B), Vendor("b"), "#EXT-X-MAP:URI=\"source/first-init.mp4\"", "source/first.m4s",
            "#EXT-X-MAP:URI=\"20261121T054512Z-init.mp4\"", "20261121T054512Z-6.m4s", "20261121T054512Z-7.m4s"],
            Shape(ClipEndsPlaylist.Write(fromB, piece, null)));
    }

    [Fact]
    public void An_aes_128_clip_names_each_period_s_key_uri_with_every_segment_s_own_IV()
    {
        const string KeyA = "#EXT-X-KEY:METHOD=AES-128,URI=\"/live/show/key/0123456789abcdef0123456789abcdef\"";
        const string KeyB = "#EXT-X-KEY:METHOD=AES-128,URI=\"/live/show/key/fedcba9876543210fedcba9876543210\"";
        // As the packager writes a rotated aes-128 broadcast: A after the map, B before the first segment of its period.
        string text = Window((5, [KeyB])).Replace("-init.mp4\"\n", "-init.mp4\"\n" + KeyA + "\n", StringComparison.Ordinal);
        var playlist = StoredMediaPlaylist.Parse(text);
        Assert.Equal([A, A, A, A, B, B, B, B, B, B, B, B], playlist.Segments.Select(s => s.Key!.KeyId!.Value));
        Assert.Equal(Enumerable.Range(1, 12).Select(n => (UInt128)n), playlist.Segments.Select(s => s.Key!.Iv));
        Assert.All(playlist.Segments, s => Assert.Empty(s.KeyTags));

        var cut = ClipPlaylist.Cut(playlist, T0.AddSeconds(5), T0.AddSeconds(11), "")!;
        Assert.Equal(
        [
            "#EXT-X-MAP:URI=\"20261121T054512Z-init.mp4\"", KeyA + ",IV=0x00000000000000000000000000000003", "20261121T054512Z-3.m4s",
            KeyA + ",IV=0x00000000000000000000000000000004", "20261121T054512Z-4.m4s", KeyB + ",IV=0x00000000000000000000000000000005",
            "20261121T054512Z-5.m4s", KeyB + ",IV=0x00000000000000000000000000000006", "20261121T054512Z-6.m4s",
        ], Shape(cut.Playlist));
        // A piece re-cut from segment 5 keeps B's key URI under its own IV (the finisher encrypts it with B).
        var made = StoredMediaPlaylist.Parse(cut.Playlist);
        Assert.Equal([A, A, B, B], made.Segments.Select(s => s.Key!.KeyId!.Value));
        var last = new ClipPiece("last-init.mp4", "last.m4s", made.Segments[^1].Start, TimeSpan.FromSeconds(1), made.Segments[^1].Key! with { Iv = 0x77 });
        Assert.Equal(KeyB + ",IV=0x00000000000000000000000000000077", Shape(ClipEndsPlaylist.Write(made, null, last))[^2]);
    }
}
