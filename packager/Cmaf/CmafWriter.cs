using System.Buffers;
using Broadcast.Media;

namespace Broadcast.Packager.Cmaf;

/// <summary>
/// Writes CMAF (ISO/IEC 23000-19) single-track files: the CMAF header (init segment) and CMAF fragments.
/// CONTRACT STUB: implemented by the CMAF work item.
/// </summary>
public static class CmafWriter
{
    /// <summary>ftyp + moov (mvhd, trak, mvex/trex) for one track.</summary>
    public static void WriteInitSegment(IBufferWriter<byte> output, MediaTrack track, uint trackId = 1) => throw new NotImplementedException();

    /// <summary>A segment-type box (styp) that opens a media segment.</summary>
    public static void WriteSegmentType(IBufferWriter<byte> output) => throw new NotImplementedException();

    /// <summary>One CMAF fragment: moof (mfhd, traf: tfhd default-base-is-moof, tfdt, trun) + mdat.</summary>
    public static void WriteFragment(IBufferWriter<byte> output, uint sequenceNumber, uint trackId, long baseMediaDecodeTime,
        ReadOnlySpan<CmafSample> samples, MediaKind kind) => throw new NotImplementedException();

    /// <summary>styp followed by one fragment: a whole media segment.</summary>
    public static void WriteMediaSegment(IBufferWriter<byte> output, uint sequenceNumber, uint trackId, long baseMediaDecodeTime,
        ReadOnlySpan<CmafSample> samples, MediaKind kind)
    {
        WriteSegmentType(output);
        WriteFragment(output, sequenceNumber, trackId, baseMediaDecodeTime, samples, kind);
    }
}
