namespace Broadcast.Media;

/// <summary>
/// One result of <see cref="LiveStreamReader.ReadOrGapAsync"/>: a frame (the caller owns one reference), a gap (the
/// producer stopped here; what follows does not continue it), or the end of the stream (neither).
/// </summary>
public readonly record struct LiveStreamRead(MediaFrame? Frame, bool IsGap)
{
    public bool IsEnd => Frame is null && !IsGap;
}
