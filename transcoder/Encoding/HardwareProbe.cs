using System.Collections.Concurrent;
using Broadcast.Processes;

namespace Broadcast.Transcoder.Encoding;

/// <summary>Runs one back-end's probe. The real one starts ffmpeg; tests substitute a fake that says so.</summary>
public interface IEncoderProbe
{
    Task<ProbeAttempt> ProbeAsync(EncoderBackend backend, CancellationToken cancellationToken);
}

public sealed record ProbeAttempt(string Backend, bool Works, string Detail);

public sealed record ProbeResult(EncoderBackend Selected, IReadOnlyList<ProbeAttempt> Attempts)
{
    /// <summary>The back-ends after the selected one that also work, for falling back when the selected one fails mid-stream.</summary>
    public IReadOnlyList<EncoderBackend> Fallbacks { get; init; } = [];
}

/// <summary>Tries the candidates in order (NVENC, QSV, VAAPI, libx264) and keeps the first whose one-frame encode succeeds.</summary>
public static class HardwareProbe
{
    public static async Task<ProbeResult> SelectAsync(IReadOnlyList<EncoderBackend> candidates, IEncoderProbe probe,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(probe);
        var attempts = new List<ProbeAttempt>();
        for (int i = 0; i < candidates.Count; i++)
        {
            var attempt = await probe.ProbeAsync(candidates[i], cancellationToken).ConfigureAwait(false);
            attempts.Add(attempt);
            if (attempt.Works)
                return new ProbeResult(candidates[i], attempts) { Fallbacks = candidates.Skip(i + 1).ToArray() };
        }
        throw new InvalidOperationException("No video encoder works: " + string.Join("; ", attempts.Select(a => $"{a.Backend}: {a.Detail}")));
    }
}

/// <summary>
/// The real probe: <c>ffmpeg … -f lavfi -i color=… -frames:v 1 -c:v ENC -f null -</c>, 20 s at most. A machine's encoders
/// do not change while the process runs, so each back-end's answer (ffmpeg exited 0, or it exited with an error) is kept
/// for the process: a transcoder started again in the same process (tests start hundreds of hosts) asks ffmpeg once.
/// A probe that timed out or was cancelled is not kept, so the next start asks again.
/// </summary>
public sealed class FfmpegEncoderProbe(string ffmpegPath) : IEncoderProbe
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    // Keyed by the ffmpeg and the probe's arguments: a handful per configured ffmpeg (the back-ends and render nodes).
    private static readonly ConcurrentDictionary<string, ProbeAttempt> Answers = new(StringComparer.Ordinal);

    public async Task<ProbeAttempt> ProbeAsync(EncoderBackend backend, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var arguments = backend.ProbeArguments();
        string key = ffmpegPath + "\0" + string.Join('\0', arguments);
        if (Answers.TryGetValue(key, out var known)) return known;
        var run = await SupervisedProcess.RunAsync(new ProcessLaunch(ffmpegPath, arguments), Timeout,
            cancellationToken).ConfigureAwait(false);
        if (run.TimedOut) return new ProbeAttempt(backend.Name, false, $"timed out after {Timeout.TotalSeconds:0} s");
        var answer = run.ExitCode == 0
            ? new ProbeAttempt(backend.Name, true, "one-frame encode succeeded")
            : new ProbeAttempt(backend.Name, false, run.StderrTail.LastOrDefault()?.Trim() ?? $"exit code {run.ExitCode}");
        return Answers.GetOrAdd(key, answer);
    }
}
