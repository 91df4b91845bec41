using Broadcast.Media.Scte35;

namespace Broadcast.Media.MpegTs;

/// <summary>
/// One splice_info_section read on a program's SCTE-35 PID (SCTE 35 §8.1, stream_type 0x86): an ad break to ask of the
/// packager (<see cref="Cue"/>), or a section not acted on with the reason (<see cref="Refusal"/>): another command, a
/// return or cancel, a splice time far from the video, or bytes that are no valid section (<see cref="Section"/> null).
/// </summary>
public readonly record struct SpliceSignal(SpliceInfoSection? Section, SpliceCue? Cue, string? Refusal)
{
    /// <summary>The bytes were no splice_info_section this service reads (CRC, syntax, length, encryption).</summary>
    public bool Malformed => Section is null;
}
