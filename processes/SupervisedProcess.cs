using System.ComponentModel;
using System.Diagnostics;

namespace Broadcast.Processes;

/// <summary>
/// One child process (ffmpeg, ffprobe) started from a <see cref="ProcessLaunch"/>, the only way the product starts one
/// (transcode, slate, thumbnails and the hardware probe in the transcoder; pull and its ffprobe in ingest).
/// All three standard streams are pipes: <see cref="Stdin"/> and <see cref="Stdout"/> for callers that feed or read media,
/// stderr read line by line into a bounded <see cref="StderrTail"/> (and the launch's line callback), stdout optionally
/// parsed as ffmpeg progress. <see cref="StopAsync"/> asks politely and kills the process tree after a grace period;
/// <see cref="CompleteAsync"/> runs a short job to its end under a timeout. Restarting is the long-running caller's loop,
/// paced by <see cref="RestartBackoff"/>.
/// </summary>
public sealed class SupervisedProcess : IAsyncDisposable
{
    /// <summary>Stdout kept by <see cref="CompleteAsync"/> at most; a child writing more is cut off (its result says so).</summary>
    public const int MaxCapturedStdoutBytes = 64 * 1024 * 1024;

    /// <summary>How long disposal waits for the output readers once the child is gone (a grandchild may hold a pipe open).</summary>
    private static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(5);

    private readonly Process _process;
    private readonly ProcessLaunch _launch;
    private readonly Queue<string> _stderrTail = new();
    private readonly Task _exited;
    private readonly Task _stderrPump;
    private readonly Task _progressPump;
    private int _exitCode;
    private int _stdinClosed;
    private int _disposed;

    private SupervisedProcess(Process process, ProcessLaunch launch)
    {
        _process = process;
        _launch = launch;
        Id = process.Id;
        _exited = ObserveExitAsync();
        _stderrPump = PumpStderrAsync();
        _progressPump = launch.Progress is { } progress ? PumpProgressAsync(progress) : Task.CompletedTask;
    }

    /// <summary>Starts the child. Throws (<see cref="Win32Exception"/>) when the program cannot be started.</summary>
    public static SupervisedProcess Start(ProcessLaunch launch)
    {
        ArgumentNullException.ThrowIfNull(launch);
        // Options built by hand (a test's, a tool's) carry no ffmpeg of their own: say so, not "a file name has not been provided".
        if (string.IsNullOrWhiteSpace(launch.FileName))
            throw new ArgumentException("No executable to start: a part's ffmpeg comes from the node's FfmpegLocator " +
                $"({FfmpegLocator.SettingKey}); options built without it must name one.", nameof(launch));
        var psi = new ProcessStartInfo(launch.FileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in launch.Arguments) psi.ArgumentList.Add(argument);
        foreach (var name in launch.RemovedEnvironment) psi.Environment.Remove(name);
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"{launch.FileName} did not start");
        return new SupervisedProcess(process, launch);
    }

    /// <summary>Starts the child, feeds it <paramref name="stdin"/> (then end of input) and waits for it: see <see cref="CompleteAsync"/>.</summary>
    public static async Task<ProcessResult> RunAsync(ProcessLaunch launch, TimeSpan timeout, CancellationToken cancellationToken,
        ReadOnlyMemory<byte> stdin = default)
    {
        await using var process = Start(launch);
        return await process.CompleteAsync(stdin, timeout, cancellationToken).ConfigureAwait(false);
    }

    public int Id { get; }

    /// <summary>The child's stdin (an FLV pipe, for example). Writes fail with <see cref="IOException"/> once the child is gone.</summary>
    public Stream Stdin => _process.StandardInput.BaseStream;

    /// <summary>The child's stdout, unless the launch parses it as progress.</summary>
    public Stream Stdout => _launch.Progress is null
        ? _process.StandardOutput.BaseStream
        : throw new InvalidOperationException("stdout carries progress and is read by the supervisor");

    /// <summary>The progress parser of the launch, if any, updated as blocks arrive.</summary>
    public FfmpegProgress? Progress => _launch.Progress;

    /// <summary>Completes when the child exited.</summary>
    public Task Exited => _exited;

    public bool HasExited => _exited.IsCompleted;

    /// <summary>The exit code (also after disposal); valid once <see cref="Exited"/> completed.</summary>
    public int ExitCode => HasExited ? _exitCode : throw new InvalidOperationException("the process is still running");

    /// <summary>The last non-empty stderr lines, oldest first (all of them once the child exited and <see cref="DrainStderrAsync"/> ran).</summary>
    public IReadOnlyList<string> StderrTail
    {
        get { lock (_stderrTail) return [.. _stderrTail]; }
    }

    /// <summary>Waits (boundedly) until stderr reached its end, so <see cref="StderrTail"/> holds the child's last words.</summary>
    public Task DrainStderrAsync() => WaitQuietlyAsync(_stderrPump);

    /// <summary>End of input on stdin (idempotent): a child reading its input there finishes and exits.</summary>
    public void CloseStdin()
    {
        if (Interlocked.Exchange(ref _stdinClosed, 1) != 0) return;
        try { _process.StandardInput.Close(); }
        catch (IOException) { } // the child is already gone: nothing left to tell it
        catch (ObjectDisposedException) { }
    }

    /// <summary>Kills the child and everything it started; quiet when it has already exited.</summary>
    public void Kill()
    {
        try { _process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { } // exited (or never associated) in the meantime
        catch (Win32Exception) { } // exiting while being killed
    }

    /// <summary>
    /// Graceful stop: the launch's <see cref="StopRequest"/>, then the child has <paramref name="grace"/> to exit before its tree is
    /// killed. With <paramref name="lastActivityTicks"/> (an <see cref="Environment.TickCount64"/> reading of the child's last
    /// output), the grace counts from its last sign of life: a child still working through a backlog is not cut short.
    /// </summary>
    public async Task StopAsync(TimeSpan grace, Func<long>? lastActivityTicks = null)
    {
        if (HasExited) return;
        await RequestStopAsync().ConfigureAwait(false);
        long requested = Environment.TickCount64;
        while (!_exited.IsCompleted)
        {
            long from = Math.Max(requested, lastActivityTicks?.Invoke() ?? requested);
            long left = (long)grace.TotalMilliseconds - (Environment.TickCount64 - from);
            if (left <= 0)
            {
                Kill();
                break;
            }
            await Task.WhenAny(_exited, Task.Delay(TimeSpan.FromMilliseconds(Math.Min(left, 250)))).ConfigureAwait(false);
        }
        await _exited.ConfigureAwait(false);
    }

    private async Task RequestStopAsync()
    {
        if (_launch.Stop == StopRequest.QuitKey && Volatile.Read(ref _stdinClosed) == 0)
        {
            try
            {
                await _process.StandardInput.WriteAsync('q').ConfigureAwait(false);
                await _process.StandardInput.FlushAsync().ConfigureAwait(false);
            }
            catch (IOException) { } // the child is already gone
            catch (ObjectDisposedException) { }
        }
        CloseStdin();
    }

    /// <summary>
    /// Runs a short job to its end: writes <paramref name="stdin"/> and closes it, keeps stdout (up to
    /// <see cref="MaxCapturedStdoutBytes"/>) and waits for the exit. Past <paramref name="timeout"/> the tree is killed and the result
    /// says <see cref="ProcessResult.TimedOut"/>; a cancelled <paramref name="cancellationToken"/> kills it and throws.
    /// </summary>
    public async Task<ProcessResult> CompleteAsync(ReadOnlyMemory<byte> stdin, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var stdout = new MemoryStream();
        var capture = CaptureAsync(Stdout, stdout);
        var feed = FeedAsync(stdin);
        bool timedOut = false;
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            deadline.CancelAfter(timeout);
            try
            {
                await _exited.WaitAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                timedOut = !cancellationToken.IsCancellationRequested;
                Kill();
                await _exited.ConfigureAwait(false);
            }
        }
        bool truncated = await capture.ConfigureAwait(false);
        await feed.ConfigureAwait(false);
        await DrainStderrAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return new ProcessResult(ExitCode, timedOut, stdout.ToArray(), StderrTail) { StdoutTruncated = truncated };
    }

    private async Task ObserveExitAsync()
    {
        await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        _exitCode = _process.ExitCode;
    }

    private async Task FeedAsync(ReadOnlyMemory<byte> input)
    {
        try
        {
            if (!input.IsEmpty) await Stdin.WriteAsync(input).ConfigureAwait(false);
        }
        catch (IOException) { } // the child exited without reading it all: its exit code and stderr say why
        catch (ObjectDisposedException) { }
        CloseStdin();
    }

    /// <summary>Copies stdout to the end; returns true when it was longer than the limit (the rest is read and dropped).</summary>
    private static async Task<bool> CaptureAsync(Stream from, MemoryStream to)
    {
        var buffer = new byte[81920];
        bool truncated = false;
        try
        {
            int n;
            while ((n = await from.ReadAsync(buffer).ConfigureAwait(false)) > 0)
            {
                int keep = (int)Math.Min(n, MaxCapturedStdoutBytes - to.Length);
                if (keep < n) truncated = true;
                if (keep > 0) to.Write(buffer, 0, keep);
            }
        }
        catch (IOException) { }
        catch (ObjectDisposedException) { }
        return truncated;
    }

    private async Task PumpStderrAsync()
    {
        try
        {
            while (await _process.StandardError.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                if (line.Length == 0) continue;
                _launch.OnStderrLine?.Invoke(line);
                lock (_stderrTail)
                {
                    _stderrTail.Enqueue(line);
                    while (_stderrTail.Count > _launch.StderrTailLines) _stderrTail.Dequeue();
                }
            }
        }
        catch (IOException) { }
        catch (ObjectDisposedException) { }
    }

    private async Task PumpProgressAsync(FfmpegProgress progress)
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
                progress.OnLine(line);
        }
        catch (IOException) { }
        catch (ObjectDisposedException) { }
    }

    private static async Task WaitQuietlyAsync(Task task)
    {
        try { await task.WaitAsync(DrainLimit).ConfigureAwait(false); }
        catch (TimeoutException) { }
    }

    /// <summary>Kills the child if it still runs, waits for it and its output readers, and releases the process.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (!HasExited) Kill();
        await _exited.ConfigureAwait(false);
        await WaitQuietlyAsync(_stderrPump).ConfigureAwait(false);
        await WaitQuietlyAsync(_progressPump).ConfigureAwait(false);
        _process.Dispose();
    }
}

/// <summary>How a short job ended: its exit code (meaningless when it timed out), stdout, and the last stderr lines.</summary>
public sealed record ProcessResult(int ExitCode, bool TimedOut, byte[] Stdout, IReadOnlyList<string> StderrTail)
{
    /// <summary>The child wrote more than <see cref="SupervisedProcess.MaxCapturedStdoutBytes"/>; <see cref="Stdout"/> is its beginning.</summary>
    public bool StdoutTruncated { get; init; }

    public bool Succeeded => !TimedOut && ExitCode == 0 && !StdoutTruncated;

    /// <summary>Stdout as text lines (UTF-8, line ends dropped).</summary>
    public IReadOnlyList<string> StdoutLines() =>
        System.Text.Encoding.UTF8.GetString(Stdout).Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToArray();

    /// <summary>The stderr tail as one text (for an error message).</summary>
    public string Stderr => string.Join('\n', StderrTail);
}
