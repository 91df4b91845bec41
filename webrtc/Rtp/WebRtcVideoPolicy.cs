using Broadcast.Media;
using Broadcast.Media.Codecs.H264;

namespace Broadcast.WebRtc.Rtp;

/// <summary>How a channel's video reaches WebRTC viewers.</summary>
/// <param name="PassThrough">The source's H.264 is sent as it is; else ffmpeg encodes the WebRTC rung.</param>
/// <param name="ProfileIdc">The H.264 profile sent (66 baseline, 77 main, 100 high): the one picked in each viewer's offer when present.</param>
public sealed record WebRtcVideoMode(bool PassThrough, int ProfileIdc, string Reason);

/// <summary>
/// Whether a source's video can go to browsers untouched: H.264 (every WebRTC browser has it), 8-bit 4:2:0 in a profile
/// browsers decode (baseline, main, high), and no B-frames. WebRTC sends frames in decode order and browsers render on
/// arrival; H.264 with B-frames (frames whose presentation time differs from their decode time) stutters or is
/// refused, so it gets the re-encode instead. B-frames are seen in the composition offsets of the first frames.
/// </summary>
public static class WebRtcVideoPolicy
{
    /// <summary>The x264 baseline the WebRTC rung is encoded in.</summary>
    public const int BaselineProfile = 66;

    /// <summary>
    /// Video frames looked at for B-frames before deciding (130 ms at 30 fps). Enough: with B-frames the decode order
    /// shifts every frame's DTS behind its PTS (the IDR's offset is already above 0), and the first reordered frame
    /// follows within a mini-GOP (x264: at most 16 B-frames, 3 by default).
    /// </summary>
    public const int FramesToInspect = 4;

    public static WebRtcVideoMode Decide(VideoTrack track, IEnumerable<MediaFrame> firstVideoFrames)
    {
        ArgumentNullException.ThrowIfNull(track);
        ArgumentNullException.ThrowIfNull(firstVideoFrames);
        if (track.Codec != Codec.H264) return Reencode($"{track.Codec} is not H.264");
        if (!AvcDecoderConfigurationRecord.TryRead(track.DecoderConfig.Span, out var avc, out _)) return Reencode("no readable avcC");
        int profile = avc.ProfileIndication;
        if (profile is not (66 or 77 or 100)) return Reencode($"H.264 profile {profile} is not baseline, main or high");
        if (avc.Extension is { } extension && (extension.ChromaFormat != 1 || extension.BitDepthLuma != 8 || extension.BitDepthChroma != 8))
            return Reencode("not 8-bit 4:2:0");
        if (firstVideoFrames.Any(f => f.CompositionOffset != 0)) return Reencode("B-frames");
        return new WebRtcVideoMode(true, profile, "WebRTC-safe H.264");
    }

    private static WebRtcVideoMode Reencode(string reason) => new(false, BaselineProfile, reason);
}
