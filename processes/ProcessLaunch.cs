namespace Broadcast.Processes;

/// <summary>
/// What to start and how to treat it: the program and its arguments (one list entry each, handed to
/// <see cref="System.Diagnostics.ProcessStartInfo.ArgumentList"/>, never joined into one string a shell or parser could split
/// differently), how a graceful stop is asked for, and what happens to stdout and stderr.
/// </summary>
public sealed record ProcessLaunch(string FileName, IReadOnlyList<string> Arguments)
{
    /// <summary>How <see cref="SupervisedProcess.StopAsync"/> asks the child to finish before the grace period runs out.</summary>
    public StopRequest Stop { get; init; } = StopRequest.CloseStdin;

    /// <summary>
    /// Set: stdout carries ffmpeg's <c>-progress pipe:1</c> blocks, read into this parser as they come (stdout is then not the
    /// caller's to read). Null: stdout is <see cref="SupervisedProcess.Stdout"/>.
    /// </summary>
    public FfmpegProgress? Progress { get; init; }

    /// <summary>Called with every non-empty stderr line as it arrives (debug logging); the last lines are also kept in the tail.</summary>
    public Action<string>? OnStderrLine { get; init; }

    /// <summary>How many of the last non-empty stderr lines <see cref="SupervisedProcess.StderrTail"/> keeps for error messages.</summary>
    public int StderrTailLines { get; init; } = 32;

    /// <summary>Environment variables the child must not inherit (for example proxies that would route its requests elsewhere).</summary>
    public IReadOnlyList<string> RemovedEnvironment { get; init; } = [];
}

/// <summary>The first, polite step of a graceful stop.</summary>
public enum StopRequest
{
    /// <summary>End of input on stdin: a child reading its input there (an FLV pipe) finishes what it holds and exits.</summary>
    CloseStdin,

    /// <summary>'q' on stdin, then end of input: ffmpeg's own interactive "quit", for a child that reads its input elsewhere.</summary>
    QuitKey,
}
