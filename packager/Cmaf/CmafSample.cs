namespace Broadcast.Packager.Cmaf;

/// <summary>
/// One sample of a CMAF fragment: payload plus timing in the track's timescale. Durations are
/// explicit (the segmenter knows the next frame's time; audio durations come from sample counts).
/// </summary>
public readonly record struct CmafSample(ReadOnlyMemory<byte> Data, uint Duration, int CompositionOffset, bool IsSync);
