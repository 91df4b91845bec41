using Broadcast.Media.Codecs;

namespace Broadcast.Media.Flv;

/// <summary>
/// A video sequence header (the decoder configuration: avcC, hvcC, av1C) arriving on a track, decided the same way for
/// the default track and every other track of an encoder's own ladder: an identical one again changes nothing (encoders
/// repeat it before keyframes), a new one describes the track from now on, an empty one is refused, and where the
/// track's codec may not change (a track of a multitrack publish) a different codec is refused.
/// </summary>
internal static class FlvVideoConfig
{
    /// <summary>
    /// Decides <paramref name="config"/> for a track now described by <paramref name="current"/>. True with
    /// <paramref name="next"/> null: nothing changes; true with a track: the track from now on; false: refused with
    /// <paramref name="error"/> (prefixed with <paramref name="trackLabel"/>, "video track 2: ", when given).
    /// </summary>
    public static bool TryChange(VideoTrack? current, Codec codec, ReadOnlySpan<byte> config, bool codecMayChange, FrameRate? frameRate,
        string trackLabel, out VideoTrack? next, out string? error)
    {
        next = null;
        error = null;
        if (config.IsEmpty)
        {
            error = $"{trackLabel}empty {codec} sequence header";
            return false;
        }
        if (current is not null && current.Codec == codec && current.DecoderConfig.Span.SequenceEqual(config)) return true;
        if (!codecMayChange && current is not null && current.Codec != codec)
        {
            error = $"{trackLabel}changed codec from {current.Codec} to {codec} during a multitrack publish";
            return false;
        }
        if (MediaTrackFactory.TryCreateVideo(codec, config, frameRate, out next, out error)) return true;
        error = trackLabel + error;
        return false;
    }
}
