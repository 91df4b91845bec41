using Broadcast.Transcoder.Encoding;

namespace Broadcast.Transcoder;

/// <summary>One live stream's transcoder, for /metrics and the stream status.</summary>
public sealed record TranscodeStreamStatus(
    string Channel,
    string Backend,
    IReadOnlyList<string> Renditions,
    IReadOnlyList<string> Shed,
    double? Speed,
    double? Fps,
    long DroppedFrames,
    int Restarts,
    long InputFramesDropped,
    IReadOnlyList<string> Warnings);

/// <summary>What the transcoder is doing: the back-end the probe chose, and each stream's progress.</summary>
public interface ITranscoderStatus
{
    bool Enabled { get; }

    /// <summary>The selected back-end (nvenc, qsv, vaapi, x264), or null when disabled or not yet probed.</summary>
    string? Backend { get; }

    IReadOnlyList<ProbeAttempt> ProbeAttempts { get; }

    IReadOnlyList<TranscodeStreamStatus> Streams { get; }

    TranscodeStreamStatus? Find(string channel);
}
