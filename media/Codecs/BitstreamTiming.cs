using Broadcast.Media.Codecs.Av1;
using Broadcast.Media.Codecs.H264;

namespace Broadcast.Media.Codecs;

/// <summary>
/// The frame rate a video bitstream states about itself, read from the decoder configuration's parameter sets, never
/// from a container's or muxer's metadata. <see cref="Fixed"/> says whether the standard holds the pictures to it:
/// H.264 fixed_frame_rate_flag (E.2.1), AV1 timing_info()'s equal_picture_interval. Without it the rate is only the encoder's
/// clock, which x264 sets to its time base (ffmpeg's <c>-enc_time_base 1:1000</c> declares "1000 fps").
/// </summary>
public sealed record BitstreamTiming(FrameRate Rate, bool Fixed)
{
    /// <summary>
    /// Reads the timing of an avcC (the first SPS's VUI) or av1C (the sequence header's timing_info). Null when the
    /// bitstream states none, for HEVC (its VUI follows the reference picture sets we do not parse) and for anything
    /// malformed; never throws.
    /// </summary>
    public static BitstreamTiming? TryRead(Codec codec, ReadOnlySpan<byte> decoderConfig)
    {
        switch (codec)
        {
            case Codec.H264:
                if (!AvcDecoderConfigurationRecord.TryRead(decoderConfig, out var avcC, out _) || avcC.SequenceParameterSets.Count == 0) return null;
                if (!H264Sps.TryParse(avcC.SequenceParameterSets[0], out var sps) || sps.Timing is not { } t) return null;
                return new BitstreamTiming(t.FrameRate, t.FixedFrameRate);
            case Codec.Av1:
                if (!Av1CodecConfigurationRecord.TryRead(decoderConfig, out var av1C, out _)) return null;
                // Av1SequenceHeader gives a rate only with equal_picture_interval: a fixed one.
                return Av1SequenceHeader.TryFind(av1C.ConfigObus, out var seq) && seq.FrameRate is { } rate
                    ? new BitstreamTiming(rate, Fixed: true) : null;
            default:
                return null;
        }
    }
}
