using System.Globalization;
using System.Text;

namespace Broadcast.TestSupport;

/// <summary>
/// A channel's stored live window as the packager writes it, for clip tests: the clips project's own (ClipMediaTests) and the
/// server's in-process clip playback.
/// </summary>
public static class StoredClipWindow
{
    public const string Broadcast = "20261121T054512Z";

    public static readonly DateTimeOffset T0 = new(2026, 11, 21, 5, 45, 12, TimeSpan.Zero);

    /// <summary>A stored live window as the packager writes it: segments first..last of 2 s, the first starting at T0 + 2·(first-1).</summary>
    public static string Window(long first, long last, bool ended = false)
    {
        var sb = new StringBuilder("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n")
            .Append(CultureInfo.InvariantCulture, $"#EXT-X-MEDIA-SEQUENCE:{first}\n#EXT-X-INDEPENDENT-SEGMENTS\n")
            .Append(CultureInfo.InvariantCulture, $"#EXT-X-MAP:URI=\"{Broadcast}-init.mp4\"\n")
            .Append(CultureInfo.InvariantCulture, $"#EXT-X-PROGRAM-DATE-TIME:{T0.AddSeconds(2 * (first - 1)).UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}\n");
        for (long n = first; n <= last; n++) sb.Append(CultureInfo.InvariantCulture, $"#EXTINF:2.000,\n{Broadcast}-{n}.m4s\n");
        if (ended) sb.Append("#EXT-X-ENDLIST\n");
        return sb.ToString();
    }

    public const string Master = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n"
        + "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"audio\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\",URI=\"audio/index.m3u8\"\n"
        + "#EXT-X-STREAM-INF:BANDWIDTH=1741032,CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=1280x720,AUDIO=\"audio\"\nsource/index.m3u8\n";
}
