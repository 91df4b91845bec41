using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Manifests;

namespace Broadcast.Packager.Tests.Manifests;

/// <summary>
/// A whole-segment encrypted (aes-128) broadcast's clip playlists: every stored segment named with its key and its original
/// Media Sequence Number as explicit IV (RFC 8216bis §5.2, §4.4.4.4), the key after each EXT-X-MAP and ended before a
/// later one (the init segments are clear), and the re-cut ends named with the IVs they were encrypted under.
/// </summary>
public class WholeSegmentClipPlaylistTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 5, 45, 12, TimeSpan.Zero);
    private const string KeyUri = "/live/show/key/00112233445566778899aabbccddeeff";
    private const string Key = "#EXT-X-KEY:METHOD=AES-128,URI=\"" + KeyUri + "\"";

    /// <summary>The reconnect window (a new init mid-window) as the packager writes it for aes-128: the key after each map.</summary>
    internal static string Window() => ClipPlaylistTests.Reconnect()
        .Replace("#EXT-X-MAP:URI=\"20261121T054512Z-init.mp4\"\n", "#EXT-X-MAP:URI=\"20261121T054512Z-init.mp4\"\n" + Key + "\n", StringComparison.Ordinal)
        .Replace("#EXT-X-MAP:URI=\"20261121T054512Z-init-1.mp4\"\n",
            "#EXT-X-KEY:METHOD=NONE\n#EXT-X-MAP:URI=\"20261121T054512Z-init-1.mp4\"\n" + Key + "\n", StringComparison.Ordinal);

    private static string Iv(long n) => Key + $",IV=0x{n:x32}";

    /// <summary>The key, map and segment lines of a playlist, in order.</summary>
    private static string[] Shape(string playlist) => playlist.Split('\n')
        .Where(l => l.StartsWith("#EXT-X-KEY:", StringComparison.Ordinal) || l.StartsWith("#EXT-X-MAP:", StringComparison.Ordinal)
            || l.Length > 0 && l[0] != '#').ToArray();

    [Fact]
    public void Each_stored_segment_is_read_with_its_media_sequence_number_as_IV_and_the_key_its_URI_names()
    {
        var playlist = StoredMediaPlaylist.Parse(Window());
        Assert.Empty(playlist.KeyTags);
        Assert.Equal([3, 4, 5], playlist.Segments.Select(s => (long)s.Key!.Iv));
        Assert.All(playlist.Segments, s => Assert.Equal(KeyUri, s.Key!.Uri));
        Assert.Equal(KeyId.FromBytes(Convert.FromHexString("00112233445566778899aabbccddeeff")), playlist.Segments[0].Key!.KeyId);
        Assert.Null(new WholeSegmentKey("/live/show/key/0011", 1).KeyId);
        Assert.Null(new WholeSegmentKey("https://keys.example/k", 1).KeyId);

        // An explicit IV is the IV (§4.4.4.4); METHOD=NONE ends the key; a gap has no object to decrypt.
        var explicitIv = StoredMediaPlaylist.Parse("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-MAP:URI=\"i.mp4\"\n" + Key
            + ",IV=0X00000000000000000000000000ABCDEF\n#EXT-X-PROGRAM-DATE-TIME:2026-11-21T05:45:12Z\n#EXTINF:2,\nb-7.m4s\n" + Key
            + "\n#EXTINF:2,\nb-8.m4s\n#EXT-X-GAP\n#EXTINF:2,\nb-9.m4s\n#EXT-X-KEY:METHOD=NONE\n#EXTINF:2,\nb-10.m4s\n");
        Assert.Equal(new UInt128?[] { 0xABCDEF, 8, null, null }, explicitIv.Segments.Select(s => s.Key?.Iv));
        // A METHOD=NONE in a sample-encrypted playlist ends no whole-segment key and keeps its key tags.
        Assert.Equal(["#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"a\""],
            StoredMediaPlaylist.Parse("#EXTM3U\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"a\"\n#EXT-X-KEY:METHOD=NONE\n").KeyTags);
    }

    [Fact]
    public void A_clip_names_every_segment_s_original_number_as_IV_after_each_map_and_ends_the_key_before_a_later_map()
    {
        var cut = ClipPlaylist.Cut(StoredMediaPlaylist.Parse(Window()), T0.AddSeconds(4), T0.AddSeconds(14), "../../source/")!;
        Assert.Contains("#EXT-X-MEDIA-SEQUENCE:0\n", cut.Playlist, StringComparison.Ordinal);
        Assert.Equal(
        [
            "#EXT-X-MAP:URI=\"../../source/20261121T054512Z-init.mp4\"", Iv(3), "../../source/20261121T054512Z-3.m4s",
            "#EXT-X-KEY:METHOD=NONE", "#EXT-X-MAP:URI=\"../../source/20261121T054512Z-init-1.mp4\"", Iv(4), "../../source/20261121T054512Z-4.m4s",
            Iv(5), "../../source/20261121T054512Z-5.m4s",
        ], Shape(cut.Playlist));
        // Read back (as the finisher reads the clip), every segment keeps its original IV though the clip starts at 0.
        var made = StoredMediaPlaylist.Parse(cut.Playlist);
        Assert.Equal([3, 4, 5], made.Segments.Select(s => (long)s.Key!.Iv));

        // The ends cut to the frame: each piece under its own IV, named after its own map; the stored segment between keeps its own.
        var first = new ClipPiece("source/first-init.mp4", "source/first.m4s", made.Segments[0].Start.AddMilliseconds(300),
            made.Segments[0].Duration - TimeSpan.FromMilliseconds(300), new WholeSegmentKey(KeyUri, UInt128.MaxValue - 1));
        var last = new ClipPiece("source/last-init.mp4", "source/last.m4s", made.Segments[2].Start, TimeSpan.FromSeconds(1),
            new WholeSegmentKey(KeyUri, 0x1234));
        var ends = ClipEndsPlaylist.Write(made, first, last);
        Assert.Equal(
        [
            "#EXT-X-MAP:URI=\"source/first-init.mp4\"", Key + ",IV=0xfffffffffffffffffffffffffffffffe", "source/first.m4s",
            "#EXT-X-KEY:METHOD=NONE", "#EXT-X-MAP:URI=\"../../source/20261121T054512Z-init-1.mp4\"", Iv(4), "../../source/20261121T054512Z-4.m4s",
            "#EXT-X-KEY:METHOD=NONE", "#EXT-X-MAP:URI=\"source/last-init.mp4\"", Iv(0x1234), "source/last.m4s",
        ], Shape(ends));
        Assert.Equal(new UInt128[] { UInt128.MaxValue - 1, 4, 0x1234 }, StoredMediaPlaylist.Parse(ends).Segments.Select(s => s.Key!.Iv));
    }

    [Theory]
    [InlineData("#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,IV=0x01\n", "line 2: an EXT-X-KEY of METHOD=AES-128 without URI")]
    [InlineData("#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"\"\n", "line 2: an EXT-X-KEY of METHOD=AES-128 without URI")]
    [InlineData("#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\",IV=0xzz\n", "line 2: an EXT-X-KEY IV '0xzz' is not 0x and 1 to 32 hex digits")]
    [InlineData("#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\",IV=12\n", "line 2: an EXT-X-KEY IV '12' is not 0x and 1 to 32 hex digits")]
    [InlineData("#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\",IV=0x000000000000000000000000000000001\n",
        "line 2: an EXT-X-KEY IV '0x000000000000000000000000000000001' is not 0x and 1 to 32 hex digits")]
    [InlineData("#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\",KEYFORMAT=\"com.apple.streamingkeydelivery\"\n",
        "line 2: an EXT-X-KEY of METHOD=AES-128 with KEYFORMAT \"com.apple.streamingkeydelivery\", which is not read")]
    [InlineData("#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\u00e9\"\n", "line 2: an EXT-X-KEY URI that is not printable ASCII")]
    [InlineData("#EXTM3U\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"a\"\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\"\n",
        "line 3: whole-segment (AES-128) and sample (SAMPLE-AES) keys in one playlist")]
    [InlineData("#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\"\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"a\"\n",
        "line 3: whole-segment (AES-128) and sample (SAMPLE-AES) keys in one playlist")]
    [InlineData("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:-1\n", "line 2: EXT-X-MEDIA-SEQUENCE is not a decimal integer before the first segment")]
    [InlineData("#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:2026-11-21T05:45:12Z\n#EXTINF:2,\nb-1.m4s\n#EXT-X-MEDIA-SEQUENCE:1\n",
        "line 5: EXT-X-MEDIA-SEQUENCE is not a decimal integer before the first segment")]
    public void Malformed_whole_segment_keys_are_refused_with_the_line_at_fault(string text, string message)
    {
        var error = Assert.Throws<MediaPlaylistFormatException>(() => StoredMediaPlaylist.Parse(text));
        Assert.Equal(message, error.Message);
    }
}
