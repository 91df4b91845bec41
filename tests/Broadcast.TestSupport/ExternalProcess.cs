using System.Diagnostics;
using System.Text;

namespace Broadcast.TestSupport;

/// <summary>Result of a child process that ran to completion.</summary>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string OutputTail);

/// <summary>
/// A child process started with <see cref="ProcessStartInfo.ArgumentList"/> (never one joined string, so
/// paths and URLs with spaces or quotes reach the program intact). stdout and stderr go into one bounded
/// ring buffer; disposing kills the whole process tree so a failed test never leaves an encoder publishing.
/// </summary>
public sealed class ExternalProcess : IDisposable, IAsyncDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly StringBuilder? _fullStdout;
    private readonly int _maxStdoutChars;
    private int _disposed;

    private ExternalProcess(Process process, int tailLines, bool keepStdout, int maxStdoutChars)
    {
        _process = process;
        Output = new LineRingBuffer(tailLines);
        _fullStdout = keepStdout ? new StringBuilder() : null;
        _maxStdoutChars = maxStdoutChars;
    }

    /// <summary>The last lines of stdout and stderr, interleaved in arrival order.</summary>
    public LineRingBuffer Output { get; }

    public string Name { get; private init; } = "";

    public int Id => _process.Id;

    /// <summary>The child's standard input, for a process started with <c>keepStandardInputOpen</c>.</summary>
    public Stream StandardInput => _process.StandardInput.BaseStream;

    /// <summary>True once the process has exited (or was killed by <see cref="Dispose"/>).</summary>
    public bool HasExited => _disposed != 0 || _process.HasExited;

    /// <summary>The exit code; after dispose, the code the process had (or -1 when it never reported one).</summary>
    public int ExitCode => _disposed != 0 ? _exitCodeAfterDispose : _process.ExitCode;

    private int _exitCodeAfterDispose = -1;

    /// <summary>Raised for each output line (stdout and stderr) on a thread-pool thread.</summary>
    public event Action<string>? LineReceived;

    public static ExternalProcess Start(
        string fileName,
        IEnumerable<string> arguments,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        int tailLines = 200,
        bool keepStandardOutput = false,
        int maxStandardOutputChars = 16 * 1024 * 1024,
        bool keepStandardInputOpen = false)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            CreateNoWindow = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in arguments)
        {
            psi.ArgumentList.Add(a);
        }

        if (workingDirectory is not null)
        {
            psi.WorkingDirectory = workingDirectory;
        }

        if (environment is not null)
        {
            foreach (var (k, v) in environment)
            {
                if (v is null)
                {
                    psi.Environment.Remove(k);
                }
                else
                {
                    psi.Environment[k] = v;
                }
            }
        }

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var ep = new ExternalProcess(process, tailLines, keepStandardOutput, maxStandardOutputChars)
        {
            Name = Path.GetFileName(fileName),
        };
        process.OutputDataReceived += (_, e) => ep.OnLine(e.Data, isStdout: true);
        process.ErrorDataReceived += (_, e) => ep.OnLine(e.Data, isStdout: false);
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {fileName}");
        }

        // Nobody types into our children; closing stdin also stops ffmpeg from reading 'q' from a tty.
        // A child may ask for it open instead, to notice through end-of-file that this process has gone.
        if (!keepStandardInputOpen) process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return ep;
    }

    /// <summary>Runs a program to completion and returns its exit code, full stdout and the output tail.</summary>
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        CancellationToken cancellationToken = default)
    {
        using var p = Start(fileName, arguments, workingDirectory, environment, tailLines: 200, keepStandardOutput: true);
        var code = await p.WaitForExitAsync(timeout, cancellationToken).ConfigureAwait(false);
        return new ProcessResult(code, p.StandardOutput, p.Output.Tail(200));
    }

    /// <summary>Full stdout, when the process was started with keepStandardOutput.</summary>
    public string StandardOutput
    {
        get
        {
            if (_fullStdout is null)
            {
                throw new InvalidOperationException("Started without keepStandardOutput.");
            }

            lock (_fullStdout)
            {
                return _fullStdout.ToString();
            }
        }
    }

    /// <summary>
    /// Waits for the process to exit and for its output to be drained; returns the exit code.
    /// Throws <see cref="TimeoutException"/> (with the output tail) when it does not exit in time.
    /// </summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            await Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task).WaitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"{Name} (pid {_process.Id}) did not exit within {timeout.TotalSeconds:0.#} s. Output tail:{Environment.NewLine}{Output.Tail(50)}");
        }

        return _process.ExitCode;
    }

    /// <summary>
    /// Stops the process where it stands (SIGSTOP): it sends nothing more and its sockets stay open, as an encoder whose
    /// network went away without closing its connection. <see cref="Kill"/> still ends it.
    /// </summary>
    public void Freeze()
    {
        using var kill = System.Diagnostics.Process.Start("kill", ["-STOP", Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])
            ?? throw new InvalidOperationException("could not run kill");
        kill.WaitForExit();
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill -STOP {Id} exited {kill.ExitCode}");
    }

    /// <summary>Lets a process <see cref="Freeze"/> stopped go on (SIGCONT), from where it stood.</summary>
    public void Thaw()
    {
        using var kill = System.Diagnostics.Process.Start("kill", ["-CONT", Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])
            ?? throw new InvalidOperationException("could not run kill");
        kill.WaitForExit();
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill -CONT {Id} exited {kill.ExitCode}");
    }

    /// <summary>Kills the process and all its descendants; safe to call more than once.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Kill();
        try
        {
            if (_process.WaitForExit(5000))
            {
                _exitCodeAfterDispose = _process.ExitCode;
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private void OnLine(string? line, bool isStdout)
    {
        if (line is null)
        {
            (isStdout ? _stdoutClosed : _stderrClosed).TrySetResult();
            return;
        }

        if (isStdout && _fullStdout is not null)
        {
            lock (_fullStdout)
            {
                if (_fullStdout.Length + line.Length < _maxStdoutChars)
                {
                    _fullStdout.AppendLine(line);
                }
            }

            // Machine-readable stdout (ffprobe JSON) stays out of the human tail.
            return;
        }

        Output.Add(line);
        LineReceived?.Invoke(line);
    }
}
