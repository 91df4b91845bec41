namespace Broadcast.Media.MpegTs;

/// <summary>
/// How a PMT names an Opus stream: stream_type 0x06 (PES private data) with a registration_descriptor (ISO/IEC 13818-1
/// 2.6.8, tag 0x05) whose format_identifier is "Opus", and a DVB extension_descriptor (EN 300 468 6.2.16, tag 0x7F) with
/// the user-defined extension tag 0x80 carrying channel_config_code (the draft ETSI specification for Opus in MPEG-2 TS):
/// 0 dual mono (two channels), 1–8 that many channels in the Vorbis order; other codes (0x80, 0x81: explicit mappings) are
/// not read here.
/// </summary>
public static class OpusTsDescriptors
{
    private const byte RegistrationTag = 0x05;
    private const byte ExtensionTag = 0x7F;
    private const byte OpusExtensionTag = 0x80;

    /// <summary>"Opus", the registered format_identifier.</summary>
    private static ReadOnlySpan<byte> FormatIdentifier => "Opus"u8;

    /// <summary>Whether the PMT entry is an Opus stream.</summary>
    public static bool IsOpus(PmtStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (stream.StreamType != TsStreamType.PrivatePes) return false;
        foreach (var (tag, body) in DescriptorLoop.Enumerate(stream.Descriptors))
            if (tag == RegistrationTag && body.Length >= 4 && body[..4].SequenceEqual(FormatIdentifier)) return true;
        return false;
    }

    /// <summary>The channel count of the Opus extension descriptor, or null when it is absent or names an explicit mapping.</summary>
    public static int? ChannelCount(PmtStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        foreach (var (tag, body) in DescriptorLoop.Enumerate(stream.Descriptors))
        {
            if (tag != ExtensionTag || body.Length < 2 || body[0] != OpusExtensionTag) continue;
            int code = body[1];
            return code == 0 ? 2 : code <= 8 ? code : null;
        }
        return null;
    }

    /// <summary>The descriptor loop an Opus stream of <paramref name="channels"/> (1–8) carries.</summary>
    public static byte[] For(int channels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(channels, 8);
        return [RegistrationTag, 4, (byte)'O', (byte)'p', (byte)'u', (byte)'s', ExtensionTag, 2, OpusExtensionTag, (byte)channels];
    }
}
