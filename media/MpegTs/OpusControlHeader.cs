using System.Buffers;
using System.Buffers.Binary;
using Broadcast.Media.Bits;

namespace Broadcast.Media.MpegTs;

/// <summary>
/// The header in front of each Opus packet in an MPEG-TS PES (opus_control_header of the Opus project's draft ETSI
/// specification for Opus in MPEG-2 TS, the framing ffmpeg, GStreamer and hardware encoders write):
/// <code>
/// control_header_prefix(11)=0x3FF start_trim_flag(1) end_trim_flag(1) control_extension_flag(1) reserved(2)
/// au_size: 0xFF bytes each adding 255, then one byte below 0xFF adding itself
/// if start_trim_flag: reserved(3) start_trim(13)    if end_trim_flag: reserved(3) end_trim(13)
/// if control_extension_flag: control_extension_length(8) reserved bytes…
/// </code>
/// Trims count samples at 48 kHz to drop from the packet's start (the stream's first) or end (its last).
/// </summary>
/// <param name="PayloadSize">au_size: the Opus packet's bytes after the header.</param>
/// <param name="StartTrim">start_trim, when present.</param>
/// <param name="EndTrim">end_trim, when present.</param>
/// <param name="ExtensionLength">control_extension_length when the extension is present, else 0 (its bytes are skipped).</param>
public readonly record struct OpusControlHeader(int PayloadSize, int? StartTrim = null, int? EndTrim = null, int ExtensionLength = 0)
{
    private const int Prefix = 0x3FF;

    /// <summary>Reads a header at the start of <paramref name="data"/>; false when the prefix is wrong or the header is cut short.</summary>
    public static bool TryRead(ReadOnlySpan<byte> data, out OpusControlHeader header, out int consumed)
    {
        header = default;
        consumed = 0;
        if (data.Length < 3) return false;
        ushort first = BinaryPrimitives.ReadUInt16BigEndian(data);
        if (first >> 5 != Prefix) return false;
        bool startTrim = (first & 0x10) != 0, endTrim = (first & 0x08) != 0, extension = (first & 0x04) != 0;
        int offset = 2, size = 0;
        while (true)
        {
            if (offset >= data.Length) return false;
            byte b = data[offset++];
            size += b;
            if (b != 0xFF) break;
        }
        int? start = null, end = null;
        if (startTrim)
        {
            if (data.Length < offset + 2) return false;
            start = BinaryPrimitives.ReadUInt16BigEndian(data[offset..]) & 0x1FFF;
            offset += 2;
        }
        if (endTrim)
        {
            if (data.Length < offset + 2) return false;
            end = BinaryPrimitives.ReadUInt16BigEndian(data[offset..]) & 0x1FFF;
            offset += 2;
        }
        int extensionLength = 0;
        if (extension)
        {
            if (offset >= data.Length) return false;
            extensionLength = data[offset++];
            if (data.Length < offset + extensionLength) return false;
            offset += extensionLength;
        }
        header = new OpusControlHeader(size, start, end, extensionLength);
        consumed = offset;
        return true;
    }

    /// <summary>Writes the header (an extension as that many zero bytes).</summary>
    public void Write(IBufferWriter<byte> writer)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(PayloadSize);
        int flags = (StartTrim is null ? 0 : 0x10) | (EndTrim is null ? 0 : 0x08) | (ExtensionLength == 0 ? 0 : 0x04);
        writer.WriteUInt16BigEndian((ushort)(Prefix << 5 | flags));
        for (int left = PayloadSize; ; left -= 0xFF)
        {
            if (left < 0xFF)
            {
                writer.WriteByte((byte)left);
                break;
            }
            writer.WriteByte(0xFF);
        }
        if (StartTrim is int start) writer.WriteUInt16BigEndian((ushort)(start & 0x1FFF));
        if (EndTrim is int end) writer.WriteUInt16BigEndian((ushort)(end & 0x1FFF));
        if (ExtensionLength == 0) return;
        writer.WriteByte((byte)ExtensionLength);
        for (int i = 0; i < ExtensionLength; i++) writer.WriteByte(0);
    }
}
