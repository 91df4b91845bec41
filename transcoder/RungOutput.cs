using Broadcast.Media;
using Broadcast.Transcoder.Ladder;

namespace Broadcast.Transcoder;

/// <summary>One rung's output: its plan and the <see cref="LiveStream"/> the packager reads, kept across ffmpeg restarts.</summary>
public sealed class RungOutput(PlannedRung rung, LiveStream stream)
{
    public PlannedRung Rung { get; } = rung;

    public LiveStream Stream { get; } = stream;

    /// <summary>Incremented on every ffmpeg restart; frames of a new generation do not continue the old ones.</summary>
    public int Generation { get; internal set; }

    /// <summary>Sequence headers seen (one per ffmpeg run, normally).</summary>
    public int Sequences { get; private set; }

    /// <summary>Decode time (90 kHz) of the last frame this rung delivered, across restarts.</summary>
    public long? LastDts { get; internal set; }

    internal void OnNewSequence() => Sequences++;
}
