using System.Buffers;

namespace Broadcast.Media.Flv;

/// <summary>FLV AUDIODATA SoundFormat (FLV spec E.4.2.1).</summary>
public enum FlvSoundFormat : byte
{
    LinearPcmPlatformEndian = 0,
    Adpcm = 1,
    Mp3 = 2,
    LinearPcmLittleEndian = 3,
    Nellymoser16kMono = 4,
    Nellymoser8kMono = 5,
    Nellymoser = 6,
    G711ALaw = 7,
    G711MuLaw = 8,
    /// <summary>Enhanced RTMP audio: a FourCC follows.</summary>
    ExHeader = 9,
    Aac = 10,
    Speex = 11,
    Mp3At8kHz = 14,
    DeviceSpecific = 15,
}

/// <summary>
/// The header of an FLV/RTMP audio tag body (E.4.2.1):
/// <code>SoundFormat(4) SoundRate(2) SoundSize(1) SoundType(1)   if SoundFormat == 10 (AAC): AACPacketType(8)</code>
/// For AAC the rate/size/type bits are fixed (44 kHz, 16 bit, stereo) and the AudioSpecificConfig is authoritative.
/// </summary>
public readonly record struct FlvAudioTagHeader(FlvSoundFormat SoundFormat, byte SoundRate, bool Is16Bit, bool IsStereo,
    byte AacPacketType) : IFlvTagBodyHeader
{
    public const byte AacSequenceHeader = 0;
    public const byte AacRaw = 1;

    /// <summary>Enhanced RTMP AudioPacketType (enhanced-rtmp-v2): a multitrack message.</summary>
    public const byte EnhancedPacketMultitrack = 5;

    /// <summary>Enhanced RTMP AudioPacketType: the channel layout (the AudioSpecificConfig has it for AAC).</summary>
    public const byte EnhancedPacketMultichannelConfig = 4;

    /// <summary>The Enhanced RTMP audio FourCC of AAC, 'mp4a'.</summary>
    public const uint FourCcMp4a = 0x6D703461;

    /// <summary>How many bytes <see cref="Write"/> writes: 2 for AAC (with its packet type), 1 otherwise.</summary>
    public int Length => SoundFormat == FlvSoundFormat.Aac ? 2 : 1;

    public static bool TryRead(ReadOnlySpan<byte> body, out FlvAudioTagHeader header, out int consumed)
    {
        header = default;
        consumed = 0;
        if (body.IsEmpty) return false;
        byte first = body[0];
        var format = (FlvSoundFormat)(first >> 4);
        byte aacPacketType = 0;
        consumed = 1;
        if (format == FlvSoundFormat.Aac)
        {
            if (body.Length < 2) return false;
            aacPacketType = body[1];
            consumed = 2;
        }
        header = new FlvAudioTagHeader(format, (byte)((first >> 2) & 0x03), (first & 0x02) != 0, (first & 0x01) != 0, aacPacketType);
        return true;
    }

    public void Write(IBufferWriter<byte> writer)
    {
        var span = writer.GetSpan(2);
        span[0] = (byte)(((byte)SoundFormat << 4) | ((SoundRate & 0x03) << 2) | (Is16Bit ? 0x02 : 0) | (IsStereo ? 0x01 : 0));
        if (SoundFormat == FlvSoundFormat.Aac)
        {
            span[1] = AacPacketType;
            writer.Advance(2);
        }
        else writer.Advance(1);
    }

    public static string FormatName(FlvSoundFormat format) => format switch
    {
        FlvSoundFormat.LinearPcmPlatformEndian => "Linear PCM",
        FlvSoundFormat.Adpcm => "ADPCM",
        FlvSoundFormat.Mp3 => "MP3",
        FlvSoundFormat.LinearPcmLittleEndian => "Linear PCM (little endian)",
        FlvSoundFormat.Nellymoser16kMono or FlvSoundFormat.Nellymoser8kMono or FlvSoundFormat.Nellymoser => "Nellymoser",
        FlvSoundFormat.G711ALaw => "G.711 A-law",
        FlvSoundFormat.G711MuLaw => "G.711 mu-law",
        FlvSoundFormat.ExHeader => "Enhanced RTMP (FourCC) audio",
        FlvSoundFormat.Aac => "AAC",
        FlvSoundFormat.Speex => "Speex",
        FlvSoundFormat.Mp3At8kHz => "MP3 8 kHz",
        FlvSoundFormat.DeviceSpecific => "device-specific sound",
        _ => $"SoundFormat {(int)format}",
    };
}
