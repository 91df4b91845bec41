using System.Text;
using Broadcast.Packager.Manifests;
using Broadcast.Packager.Tests.Manifests;
using Broadcast.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace Broadcast.Packager.Tests.Fuzzing;

/// <summary>
/// Fuzzes the reading of a stored media playlist a clip is cut from (<see cref="StoredMediaPlaylist.Parse"/>) and the cut
/// itself (<see cref="ClipPlaylist.Cut"/>), from mutations of the packager's own playlists (an aes-128 one's key tags and IVs too): the store may hold an object
/// another node damaged, and a clip request must then fail with the parser's error, never anything else.
/// </summary>
public class ClipPlaylistFuzzTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 5, 45, 12, TimeSpan.Zero);

    [Fact]
    public void Stored_playlist_and_the_clip_cut_from_it()
    {
        var seeds = new List<byte[]>
        {
            Encoding.UTF8.GetBytes(ClipPlaylistTests.Window()),
            Encoding.UTF8.GetBytes(ClipPlaylistTests.Reconnect()),
            "#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:2026-11-21T05:45:12Z\n#EXT-X-GAP\n#EXTINF:2,\nb-2.m4s\n"u8.ToArray(),
            // An aes-128 window (the key after each map, ended before the next) and one with explicit IVs, as a clip names them.
            Encoding.UTF8.GetBytes(WholeSegmentClipPlaylistTests.Window()),
            Encoding.UTF8.GetBytes("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-MAP:URI=\"i.mp4\"\n#EXT-X-KEY:METHOD=AES-128,URI=\"/live/s/key/"
                + "00112233445566778899aabbccddeeff\",IV=0x0000000000000000000000000000000a\n#EXT-X-PROGRAM-DATE-TIME:2026-11-21T05:45:12Z\n"
                + "#EXTINF:2,\nb-7.m4s\n#EXT-X-KEY:METHOD=NONE\n#EXTINF:2,\nb-8.m4s\n"),
        };
        double[] offsets = [-5, 0, 1, 3.5, 10, 23, 30];
        var report = FuzzRunner.Run("clip playlist", seeds, (input, random) =>
        {
            StoredMediaPlaylist playlist;
            try
            {
                playlist = StoredMediaPlaylist.Parse(Encoding.UTF8.GetString(input));
            }
            catch (MediaPlaylistFormatException)
            {
                return false;
            }
            var from = T0.AddSeconds(random.Pick(offsets));
            var cut = ClipPlaylist.Cut(playlist, from, from.AddSeconds(1 + Math.Abs(random.Pick(offsets) * random.Pick(offsets))), "../../x/");
            if (cut is null) return true;
            if (cut.End <= cut.Start) throw new InvalidOperationException($"a clip from {cut.Start:O} to {cut.End:O}");
            if (!cut.Playlist.EndsWith("#EXT-X-ENDLIST\n", StringComparison.Ordinal)) throw new InvalidOperationException("no ENDLIST");
            // What the clip names must read back as a playlist of its own.
            StoredMediaPlaylist.Parse(cut.Playlist);
            return true;
        });
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }

    /// <summary>A clip's master read for its renditions' codecs and bandwidths: never anything but an answer.</summary>
    [Fact]
    public void Clip_master_codecs_and_bandwidths()
    {
        var seeds = new List<byte[]>
        {
            "#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",URI=\"audio.m3u8\"\n#EXT-X-STREAM-INF:BANDWIDTH=5200000,CODECS=\"avc1.640028,mp4a.40.2\",AUDIO=\"a\"\n1080p.m3u8\n"u8.ToArray(),
            "#EXTM3U\n#EXT-X-STREAM-INF:AVERAGE-BANDWIDTH=1,BANDWIDTH=99999999999999999999,CODECS=\"hvc1\"\n720p.m3u8\n"u8.ToArray(),
        };
        var report = FuzzRunner.Run("clip master", seeds, (input, _) =>
        {
            string text = Encoding.UTF8.GetString(input);
            var renditions = ClipMasterRenditions.Read(text);
            if (renditions.Any(r => r.Bandwidth < 0)) throw new InvalidOperationException("a negative bandwidth");
            if (renditions.Select(r => r.Name).Distinct().Count() != renditions.Count) throw new InvalidOperationException("a name twice");
            return renditions.Count > 0;
        });
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0, report.ToString());
    }
}
