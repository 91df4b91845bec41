using Broadcast.Media.Codecs.Aac;
using Broadcast.Media.Codecs.Av1;
using Broadcast.Media.Codecs.H264;
using Broadcast.Media.Codecs.Hevc;

namespace Broadcast.Media.Codecs;

/// <summary>
/// Builds the neutral <see cref="VideoTrack"/>/<see cref="AudioTrack"/> description from a codec's decoder
/// configuration record (avcC, hvcC, av1C, AudioSpecificConfig): size after cropping, profile, level, frame rate
/// and the RFC 6381 codec string. Ingest calls it on every sequence header; the packager reads the result.
/// </summary>
public static class MediaTrackFactory
{
    /// <summary>Builds a track of either kind; see <see cref="TryCreateVideo"/> and <see cref="TryCreateAudio"/>.</summary>
    public static bool TryCreate(Codec codec, ReadOnlySpan<byte> decoderConfig, FrameRate? fallbackFrameRate,
        out MediaTrack track, out string? error)
    {
        track = null!;
        if (codec is Codec.Aac or Codec.Mp3 or Codec.Opus)
        {
            bool ok = TryCreateAudio(codec, decoderConfig, out var audio, out error);
            track = audio;
            return ok;
        }
        bool okVideo = TryCreateVideo(codec, decoderConfig, fallbackFrameRate, out var video, out error);
        track = video;
        return okVideo;
    }

    /// <summary>
    /// Video: the frame rate comes from the bitstream's timing info when it has one, else
    /// <paramref name="fallbackFrameRate"/> (RTMP onMetaData framerate).
    /// </summary>
    public static bool TryCreateVideo(Codec codec, ReadOnlySpan<byte> decoderConfig, FrameRate? fallbackFrameRate,
        out VideoTrack track, out string? error)
    {
        track = null!;
        error = null;
        byte[] config = decoderConfig.ToArray();
        switch (codec)
        {
            case Codec.H264:
            {
                if (!AvcDecoderConfigurationRecord.TryRead(config, out var avcC, out _))
                    return Fail("malformed AVCDecoderConfigurationRecord", out error);
                if (avcC.SequenceParameterSets.Count == 0) return Fail("AVCDecoderConfigurationRecord has no SPS", out error);
                if (!H264Sps.TryParse(avcC.SequenceParameterSets[0], out var sps)) return Fail("malformed H.264 SPS", out error);
                // The codec string comes from the SPS: the avcC copy of these bytes is sometimes stale or zero.
                track = new VideoTrack(Codec.H264, config, sps.CodecString, sps.Width, sps.Height, sps.ProfileName,
                    sps.LevelName, sps.FrameRate ?? fallbackFrameRate, avcC.NalLengthSize);
                return true;
            }
            case Codec.H265:
            {
                if (!HevcDecoderConfigurationRecord.TryRead(config, out var hvcC, out _))
                    return Fail("malformed HEVCDecoderConfigurationRecord", out error);
                var spsNal = hvcC.FindNalUnit(33);
                if (spsNal is null) return Fail("HEVCDecoderConfigurationRecord has no SPS", out error);
                if (!HevcSps.TryParse(spsNal, out var sps)) return Fail("malformed HEVC SPS", out error);
                var ptl = sps.ProfileTierLevel;
                FrameRate? rate = hvcC.AvgFrameRate > 0 && hvcC.ConstantFrameRate != 0
                    ? H264Sps.Reduce((ulong)hvcC.AvgFrameRate, 256) : null;
                track = new VideoTrack(Codec.H265, config, ptl.CodecString(), sps.Width, sps.Height, ptl.ProfileName,
                    ptl.LevelName, rate ?? fallbackFrameRate, hvcC.NalLengthSize);
                return true;
            }
            case Codec.Av1:
            {
                if (!Av1CodecConfigurationRecord.TryRead(config, out var av1C, out _))
                    return Fail("malformed AV1CodecConfigurationRecord", out error);
                if (!Av1SequenceHeader.TryFind(av1C.ConfigObus, out var seq))
                    return Fail("AV1CodecConfigurationRecord has no valid sequence header OBU", out error);
                track = new VideoTrack(Codec.Av1, config,
                    Av1CodecConfigurationRecord.FormatCodecString(seq.SeqProfile, seq.SeqLevelIdx0, seq.SeqTier0, av1C.BitDepth),
                    seq.MaxFrameWidth, seq.MaxFrameHeight, Av1SequenceHeader.ProfileName(seq.SeqProfile),
                    Av1SequenceHeader.LevelName(seq.SeqLevelIdx0), seq.FrameRate ?? fallbackFrameRate, nalLengthSize: 0);
                return true;
            }
            default:
                return Fail($"unsupported video codec {codec}", out error);
        }
    }

    public static bool TryCreateAudio(Codec codec, ReadOnlySpan<byte> decoderConfig, out AudioTrack track, out string? error)
    {
        track = null!;
        error = null;
        if (codec != Codec.Aac) return Fail($"unsupported audio codec {codec}", out error);
        if (!AudioSpecificConfig.TryRead(decoderConfig, out var asc, out _))
            return Fail("malformed or unsupported AAC AudioSpecificConfig", out error);
        if (!asc.IsAacFamily) return Fail($"unsupported audio object type {asc.CoreObjectType}", out error);
        track = new AudioTrack(Codec.Aac, decoderConfig.ToArray(), asc.CodecString, asc.SamplingFrequency, asc.Channels,
            asc.SamplesPerFrame);
        return true;
    }

    private static bool Fail(string message, out string? error)
    {
        error = message;
        return false;
    }
}
