using Broadcast.Media;
using Broadcast.Packager.Manifests;
using Broadcast.Packager.Segmenting;
using Broadcast.Storage;

namespace Broadcast.Packager.Tests.Manifests;

/// <summary>
/// A rendition with no segment for a number of the grid (audio beside the encoder's last lone video frame before a slate)
/// lists it as an EXT-X-GAP segment, so every segment keeps its media sequence number as the window slides past the hole.
/// </summary>
public sealed class PlaylistGapTests
{
    [Fact]
    public void A_missing_number_is_a_gap_and_sequence_numbers_stay_put_as_the_window_slides()
    {
        var audio = new RenditionTimeline("audio", MediaKind.Audio);
        long at = 0;
        foreach (long n in new long[] { 1, 2, 3, 5, 6, 7 })
        {
            if (n == 5) at += 3_888; // the hole: 81 ms with no audio frames
            audio.Add(new SegmentDescription("audio", MediaKind.Audio, n, at, 96_000, 48_000, 32_000, true, n == 5,
                StoreKeys.InitName(ManifestGoldenTests.Id, 0), TestMedia.Audio(48000), 93), DateTimeOffset.UnixEpoch);
            at += 96_000;
        }

        string whole = HlsPlaylistWriter.WriteMediaPlaylist(audio, ManifestGoldenTests.Id, 0, PlaylistState.Live);
        Assert.Contains($"#EXTINF:2.000,\n{ManifestGoldenTests.Id}-3.m4s\n#EXT-X-GAP\n#EXTINF:0.081,\n{ManifestGoldenTests.Id}-4.m4s\n#EXT-X-DISCONTINUITY\n",
            whole, StringComparison.Ordinal);
        Assert.Equal(6, SequenceOf(whole, $"{ManifestGoldenTests.Id}-6.m4s"));

        // The window now starts after the hole: segment 6 has the same media sequence number as before.
        string later = HlsPlaylistWriter.WriteMediaPlaylist(audio, ManifestGoldenTests.Id, 4, PlaylistState.Live);
        Assert.DoesNotContain("#EXT-X-GAP", later, StringComparison.Ordinal);
        Assert.Equal(6, SequenceOf(later, $"{ManifestGoldenTests.Id}-6.m4s"));
    }

    /// <summary>The media sequence number a playlist gives a segment URI: EXT-X-MEDIA-SEQUENCE plus its position.</summary>
    private static long SequenceOf(string playlist, string uri)
    {
        var lines = playlist.Split('\n');
        long sequence = long.Parse(lines.Single(l => l.StartsWith("#EXT-X-MEDIA-SEQUENCE:", StringComparison.Ordinal))[22..],
            System.Globalization.CultureInfo.InvariantCulture);
        foreach (var line in lines.Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            if (line == uri) return sequence;
            sequence++;
        }

        throw new Xunit.Sdk.XunitException($"{uri} is not in the playlist");
    }
}
