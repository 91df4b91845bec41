using System.Diagnostics;
using System.Globalization;

namespace Broadcast.WebRtc.Janus;

/// <summary>
/// The Janus this node started, written down in its configuration folder: its pid and the process's start time (field 22
/// of <c>/proc/&lt;pid&gt;/stat</c>, clock ticks since boot). A server killed outright (SIGKILL, an OOM kill outside
/// systemd or Docker) leaves its Janus running and holding Janus's ports; the next start finds the file and ends that
/// Janus first. The start time and the command line are checked before anything is killed, so a pid the kernel gave to
/// another process since is never touched. Linux only (<c>/proc</c>); elsewhere it does nothing.
/// </summary>
internal sealed class JanusPidFile
{
    public const string FileName = "janus.pid";

    private static readonly TimeSpan ExitWait = TimeSpan.FromSeconds(5);
    private readonly Func<string[], bool> _isJanus;

    /// <param name="directory">Janus's configuration folder.</param>
    /// <param name="binary">The Janus binary started (Janus:Binary): a left-over process must have been started as it.</param>
    /// <param name="isJanus">Tests only: whether a command line (its arguments) is the Janus this node starts.</param>
    public JanusPidFile(string directory, string binary, Func<string[], bool>? isJanus = null)
    {
        Path = System.IO.Path.Combine(directory, FileName);
        string name = System.IO.Path.GetFileName(binary);
        _isJanus = isJanus ?? (argv => argv.Length > 0 && System.IO.Path.GetFileName(argv[0]) == name);
    }

    public string Path { get; }

    /// <summary>Records <paramref name="pid"/>, just started, with its start time.</summary>
    public void Write(int pid)
    {
        if (!OperatingSystem.IsLinux() || StartTimeOf(pid) is not { } started) return;
        File.WriteAllText(Path, string.Create(CultureInfo.InvariantCulture, $"{pid} {started}\n"));
    }

    /// <summary>Our Janus stopped: nothing is left to end at the next start.</summary>
    public void Delete() => File.Delete(Path);

    /// <summary>
    /// Ends the Janus the file names when it still runs: the same pid, the same start time and a Janus command line.
    /// Waits (bounded) for it to be gone, so its ports are free. Returns its pid, or null when there was none to end.
    /// </summary>
    public async Task<int?> EndLeftoverAsync()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists(Path)) return null;
        string[] recorded = File.ReadAllText(Path).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        File.Delete(Path);
        if (recorded.Length != 2 || !int.TryParse(recorded[0], CultureInfo.InvariantCulture, out int pid) || pid <= 1
            || !long.TryParse(recorded[1], CultureInfo.InvariantCulture, out long started))
            return null;
        if (StartTimeOf(pid) != started || !_isJanus(CommandLineOf(pid))) return null;

        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill(); // SIGKILL: it is no longer ours to stop gracefully, and it must let go of the ports now
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return null; // gone in between, or not ours to signal
        }

        var waited = Stopwatch.StartNew();
        while (StartTimeOf(pid) == started && waited.Elapsed < ExitWait) await Task.Delay(20).ConfigureAwait(false);
        return pid;
    }

    /// <summary>Field 22 (starttime) of /proc/&lt;pid&gt;/stat; null when no such process runs (a zombie has exited).</summary>
    private static long? StartTimeOf(int pid)
    {
        string stat;
        try { stat = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }

        // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields are counted after its last ')'.
        int end = stat.LastIndexOf(')');
        if (end < 0) return null;
        string[] fields = stat[(end + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // fields[0] is field 3 (state); starttime is field 22.
        if (fields.Length < 20 || fields[0] == "Z") return null;
        return long.TryParse(fields[19], CultureInfo.InvariantCulture, out long ticks) ? ticks : null;
    }

    private static string[] CommandLineOf(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }
}
