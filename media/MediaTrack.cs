namespace Broadcast.Media;

public enum MediaKind : byte
{
    Video = 1,
    Audio = 2,
}

public enum Codec : byte
{
    Unknown = 0,
    H264,
    H265,
    Av1,
    Aac,
    Mp3,
    Opus,
}

/// <summary>
/// An immutable description of one elementary stream. A new instance is made whenever the
/// decoder configuration changes (a new sequence header), so readers notice a change by reference.
/// </summary>
public abstract class MediaTrack
{
    protected MediaTrack(Codec codec, int timescale, ReadOnlyMemory<byte> decoderConfig, string codecString)
    {
        Codec = codec;
        Timescale = timescale;
        DecoderConfig = decoderConfig;
        CodecString = codecString;
    }

    public abstract MediaKind Kind { get; }

    public Codec Codec { get; }

    /// <summary>Ticks per second of this track's frame timestamps.</summary>
    public int Timescale { get; }

    /// <summary>
    /// The codec's configuration record as carried in MP4: AVCDecoderConfigurationRecord (avcC),
    /// HEVCDecoderConfigurationRecord (hvcC), AV1CodecConfigurationRecord (av1C) or AAC AudioSpecificConfig.
    /// </summary>
    public ReadOnlyMemory<byte> DecoderConfig { get; }

    /// <summary>RFC 6381 codecs parameter, e.g. <c>avc1.64001f</c> or <c>mp4a.40.2</c>.</summary>
    public string CodecString { get; }

    /// <summary>True when both describe the same decoder configuration (byte-equal config, same codec).</summary>
    public bool HasSameConfig(MediaTrack? other) =>
        other is not null && other.Codec == Codec && other.Kind == Kind &&
        other.DecoderConfig.Span.SequenceEqual(DecoderConfig.Span);
}

public sealed class VideoTrack : MediaTrack
{
    public VideoTrack(Codec codec, ReadOnlyMemory<byte> decoderConfig, string codecString, int width, int height,
        string? profile = null, string? level = null, FrameRate? frameRate = null, int nalLengthSize = 4)
        : base(codec, Timescales.Video, decoderConfig, codecString)
    {
        Width = width;
        Height = height;
        Profile = profile;
        Level = level;
        FrameRate = frameRate;
        NalLengthSize = nalLengthSize;
        BitstreamTiming = Codecs.BitstreamTiming.TryRead(codec, decoderConfig.Span);
    }

    public override MediaKind Kind => MediaKind.Video;

    /// <summary>Display width in pixels after SPS cropping.</summary>
    public int Width { get; }

    /// <summary>Display height in pixels after SPS cropping.</summary>
    public int Height { get; }

    public string? Profile { get; }

    public string? Level { get; }

    /// <summary>Nominal frame rate from the encoder's metadata or the SPS timing info, when known.</summary>
    /// <remarks>
    /// For people (dashboard, encoder advice, a restream's onMetaData), not for manifests: it may be a muxer's claim taken
    /// on trust (FLV onMetaData framerate) or an encoder's clock (see <see cref="BitstreamTiming"/>). Manifests measure.
    /// </remarks>
    public FrameRate? FrameRate { get; }

    /// <summary>What the parameter sets in <see cref="MediaTrack.DecoderConfig"/> say of the frame rate, or null.</summary>
    public Codecs.BitstreamTiming? BitstreamTiming { get; }

    /// <summary>Size in bytes of the NAL unit length prefix in frame payloads (AVCC/HVCC framing).</summary>
    public int NalLengthSize { get; }

    public VideoTrack WithFrameRate(FrameRate? frameRate) =>
        new(Codec, DecoderConfig, CodecString, Width, Height, Profile, Level, frameRate, NalLengthSize);
}

public sealed class AudioTrack : MediaTrack
{
    public AudioTrack(Codec codec, ReadOnlyMemory<byte> decoderConfig, string codecString, int sampleRate, int channels,
        int samplesPerFrame = 1024)
        : base(codec, sampleRate, decoderConfig, codecString)
    {
        SampleRate = sampleRate;
        Channels = channels;
        SamplesPerFrame = samplesPerFrame;
    }

    public override MediaKind Kind => MediaKind.Audio;

    public int SampleRate { get; }

    public int Channels { get; }

    /// <summary>Samples carried by one access unit: 1024 for AAC-LC, 2048 with SBR signalled implicitly is still 1024 core samples.</summary>
    public int SamplesPerFrame { get; }
}

/// <summary>A rational frame rate (e.g. 30000/1001).</summary>
public readonly record struct FrameRate(int Numerator, int Denominator)
{
    public override string ToString() =>
        Denominator == 1 ? Numerator.ToString(System.Globalization.CultureInfo.InvariantCulture)
        : (Numerator / (decimal)Denominator).ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Builds a rational from an encoder-reported floating rate (onMetaData framerate), snapping to NTSC rates.</summary>
    public static FrameRate? FromDouble(double fps)
    {
        if (!double.IsFinite(fps) || fps <= 0 || fps > 1000) return null;
        foreach (var ntsc in new[] { 24, 30, 60, 120 })
        {
            if (Math.Abs(fps - ntsc * 1000.0 / 1001.0) < 0.005) return new FrameRate(ntsc * 1000, 1001);
        }
        double rounded = Math.Round(fps);
        if (Math.Abs(fps - rounded) < 0.01) return new FrameRate((int)rounded, 1);
        return new FrameRate((int)Math.Round(fps * 1000), 1000);
    }
}
