using System.Buffers;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Segmenting;

namespace Broadcast.Packager.Cmaf;

/// <summary>
/// Low-latency CMAF: a part is one fragment (moof+mdat) of the frames since the previous part, the first part of a
/// segment opening with the segment's styp; the whole segment is written as the same fragments back to back, so
/// its bytes are exactly the concatenation of its parts (one object can also be served as its parts' byte ranges).
/// </summary>
public static class CmafPartWriter
{
    /// <summary>
    /// mfhd sequence_number of part <paramref name="index"/> of segment <paramref name="number"/>: increasing along the
    /// track (ISO/IEC 14496-12 8.8.5) with room for 100 parts per segment; it wraps after 42 million segments.
    /// </summary>
    public static uint SequenceNumber(long number, int index) => unchecked((uint)(number * 100 + index));

    /// <summary>
    /// One part: styp (first part only) + moof + mdat. With <paramref name="encryptor"/> its samples are encrypted, each
    /// with the IV of its place in the segment, so the part's bytes are those the segment written whole has there.
    /// </summary>
    public static void WritePart(IBufferWriter<byte> output, ClosedPart part, uint trackId = 1, TrackEncryptor? encryptor = null)
    {
        ArgumentNullException.ThrowIfNull(part);
        var encryption = encryptor?.Encrypt(part.Samples, TrackEncryptor.Place(part.Number, part.Index, 0));
        if (part.Index == 0)
            CmafWriter.WriteMediaSegment(output, SequenceNumber(part.Number, 0), trackId, part.StartTime, part.Samples, part.Track.Kind, encryption);
        else
            CmafWriter.WriteFragment(output, SequenceNumber(part.Number, part.Index), trackId, part.StartTime, part.Samples, part.Track.Kind,
                encryption);
    }

    /// <summary>A segment cut into parts, as the concatenation of those parts.</summary>
    public static void WriteSegment(IBufferWriter<byte> output, ClosedSegment segment, uint trackId = 1, TrackEncryptor? encryptor = null)
    {
        ArgumentNullException.ThrowIfNull(segment);
        int count = segment.PartStarts?.Length ?? 1;
        long time = segment.StartTime;
        for (int i = 0; i < count; i++)
        {
            var samples = segment.PartSamples(i);
            var encryption = encryptor?.Encrypt(samples, TrackEncryptor.Place(segment.Number, i, 0));
            if (i == 0)
                CmafWriter.WriteMediaSegment(output, SequenceNumber(segment.Number, 0), trackId, time, samples, segment.Track.Kind, encryption);
            else CmafWriter.WriteFragment(output, SequenceNumber(segment.Number, i), trackId, time, samples, segment.Track.Kind, encryption);
            foreach (var s in samples) time += s.Duration;
        }
    }
}
