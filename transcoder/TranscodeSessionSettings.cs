namespace Broadcast.Transcoder;

/// <summary>What every <see cref="TranscodeSession"/> of a node runs with: its ffmpeg, its hang and start limits, and when it sheds.</summary>
public sealed record TranscodeSessionSettings(string FfmpegPath, TimeSpan HangTimeout, TimeSpan StartTimeout, TimeSpan StopGrace,
    double ShedBelowSpeed, TimeSpan ShedAfter);
