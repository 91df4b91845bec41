using System.Buffers.Binary;

namespace Broadcast.Packager.Tests.Cmaf;

/// <summary>A tag of an FLV file as the test needs it: timestamps in milliseconds, payload past the codec header.</summary>
public sealed record FlvMediaTag(bool IsVideo, bool IsSequenceHeader, bool IsKeyframe, long TimestampMs, int CompositionTimeMs, byte[] Payload);

/// <summary>
/// A small FLV file parser for the tests (Adobe FLV spec v10.1 Annex E): 9-byte header, PreviousTagSize0, then
/// tags of 11-byte header + data + PreviousTagSize. It understands AVC/HEVC-in-FLV video (legacy codec id 7 and
/// the Enhanced RTMP 'hvc1' FourCC form) and AAC audio. Deliberately independent of the ingest branch's demuxer.
/// </summary>
public static class FlvTestFile
{
    public static List<FlvMediaTag> Parse(ReadOnlySpan<byte> file)
    {
        if (file.Length < 13 || file[0] != 'F' || file[1] != 'L' || file[2] != 'V')
            throw new InvalidDataException("Not an FLV file.");
        int position = (int)BinaryPrimitives.ReadUInt32BigEndian(file[5..]) + 4; // header + PreviousTagSize0
        var tags = new List<FlvMediaTag>();
        while (position + 11 <= file.Length)
        {
            byte tagType = (byte)(file[position] & 0x1F);
            int dataSize = file[position + 1] << 16 | file[position + 2] << 8 | file[position + 3];
            long timestamp = (long)(file[position + 7] << 24 | file[position + 4] << 16 | file[position + 5] << 8 | file[position + 6]);
            var data = file.Slice(position + 11, dataSize);
            position += 11 + dataSize + 4;
            if (tagType == 9) tags.Add(ParseVideo(data, timestamp));
            else if (tagType == 8) tags.Add(ParseAudio(data, timestamp));
        }
        return tags;
    }

    private static FlvMediaTag ParseVideo(ReadOnlySpan<byte> data, long timestamp)
    {
        bool enhanced = (data[0] & 0x80) != 0;
        int frameType = (data[0] >> 4) & 0x07;
        if (enhanced)
        {
            // Enhanced RTMP: [IsExHeader|FrameType(3)|PacketType(4)] FourCC, then SI24 CTO for CodedFrames (1).
            int packetType = data[0] & 0x0F;
            return packetType switch
            {
                0 => new FlvMediaTag(true, true, frameType == 1, timestamp, 0, data[5..].ToArray()),
                1 => new FlvMediaTag(true, false, frameType == 1, timestamp, ReadSi24(data[5..]), data[8..].ToArray()),
                3 => new FlvMediaTag(true, false, frameType == 1, timestamp, 0, data[5..].ToArray()),
                _ => new FlvMediaTag(true, true, false, timestamp, 0, []),
            };
        }
        int avcPacketType = data[1];
        return new FlvMediaTag(true, avcPacketType == 0, frameType == 1, timestamp, ReadSi24(data[2..]), data[5..].ToArray());
    }

    private static FlvMediaTag ParseAudio(ReadOnlySpan<byte> data, long timestamp)
    {
        if (data[0] >> 4 != 10) throw new InvalidDataException("Only AAC audio is expected in test clips.");
        return new FlvMediaTag(false, data[1] == 0, true, timestamp, 0, data[2..].ToArray());
    }

    private static int ReadSi24(ReadOnlySpan<byte> b)
    {
        int value = b[0] << 16 | b[1] << 8 | b[2];
        return (value & 0x800000) != 0 ? value - 0x1000000 : value;
    }
}
