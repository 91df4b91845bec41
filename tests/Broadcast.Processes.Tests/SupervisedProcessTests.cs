using System.Diagnostics;
using Broadcast.TestSupport;

namespace Broadcast.Processes.Tests;

/// <summary>
/// The one process type every ffmpeg launcher uses, proven on real short-lived children (/bin/sh, cat, sleep, ffmpeg):
/// arguments reach the child untouched, pipes work both ways, stderr keeps a bounded tail, a graceful stop asks first and
/// kills the whole tree when ignored, short jobs end at their timeout, and a crashing child is restarted on the backoff.
/// </summary>
[Trait("Kind", "Component")]
public sealed class SupervisedProcessTests
{
    /// <summary>Generous bound on anything that should take milliseconds: the machine may be loaded.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private static ProcessLaunch Shell(string script, params string[] arguments) => new("/bin/sh", ["-c", script, "sh", .. arguments]);

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void A_launch_without_an_executable_is_refused_naming_where_ffmpeg_comes_from(string fileName)
    {
        var e = Assert.Throws<ArgumentException>(() => SupervisedProcess.Start(new ProcessLaunch(fileName, ["-version"])));
        Assert.Contains(FfmpegLocator.SettingKey, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Arguments_reach_the_child_one_by_one_without_a_shell_splitting_or_expanding_them()
    {
        string[] arguments = ["two words", "semi;colon", "$HOME", "'quoted'", "back\\slash", ""];
        var run = await SupervisedProcess.RunAsync(Shell("for a in \"$@\"; do printf '<%s>\\n' \"$a\"; done", arguments), Bound, CancellationToken.None);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(arguments.Select(a => $"<{a}>"), run.StdoutLines());
    }

    [Fact]
    public async Task Ffmpeg_version_runs_to_completion()
    {
        var run = await SupervisedProcess.RunAsync(new ProcessLaunch("ffmpeg", ["-hide_banner", "-version"]), Bound, CancellationToken.None);

        Assert.True(run.Succeeded, run.Stderr);
        Assert.StartsWith("ffmpeg version", run.StdoutLines()[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_short_job_gets_its_input_on_stdin_and_gives_back_stdout()
    {
        byte[] input = Enumerable.Range(0, 300_000).Select(i => (byte)(i * 7)).ToArray();
        var run = await SupervisedProcess.RunAsync(new ProcessLaunch("cat", []), Bound, CancellationToken.None, input);

        Assert.True(run.Succeeded);
        Assert.Equal(input, run.Stdout);
    }

    [Fact]
    public async Task Stderr_keeps_only_its_last_lines_and_each_line_reaches_the_callback()
    {
        var seen = new List<string>();
        var launch = Shell("i=1; while [ $i -le 100 ]; do echo \"line $i\" >&2; echo >&2; i=$((i+1)); done; exit 3") with
        {
            StderrTailLines = 5,
            OnStderrLine = line => { lock (seen) seen.Add(line); },
        };
        var run = await SupervisedProcess.RunAsync(launch, Bound, CancellationToken.None);

        Assert.Equal(3, run.ExitCode);
        Assert.False(run.Succeeded);
        Assert.Equal(["line 96", "line 97", "line 98", "line 99", "line 100"], run.StderrTail);
        lock (seen) Assert.Equal(100, seen.Count); // empty lines are not passed on
    }

    [Fact]
    public async Task A_short_job_past_its_timeout_is_killed_and_says_so()
    {
        var clock = Stopwatch.StartNew();
        var run = await SupervisedProcess.RunAsync(new ProcessLaunch("sleep", ["60"]), TimeSpan.FromMilliseconds(300), CancellationToken.None);

        Assert.True(run.TimedOut);
        Assert.False(run.Succeeded);
        Assert.True(clock.Elapsed < Bound, $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Cancelling_a_short_job_kills_it_and_throws()
    {
        await using var process = SupervisedProcess.Start(new ProcessLaunch("sleep", ["60"]));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => process.CompleteAsync(ReadOnlyMemory<byte>.Empty, Bound, cancel.Token));
        Assert.True(process.HasExited);
        Assert.NotEqual(0, process.ExitCode);
    }

    [Fact]
    public async Task A_pipe_child_streams_both_ways_and_ends_at_the_end_of_its_input()
    {
        await using var process = SupervisedProcess.Start(new ProcessLaunch("cat", []));
        await process.Stdin.WriteAsync("hello\n"u8.ToArray());
        await process.Stdin.FlushAsync();
        var reader = new StreamReader(process.Stdout);
        Assert.Equal("hello", await reader.ReadLineAsync().WaitAsync(Bound));

        await process.StopAsync(Bound).WaitAsync(Bound);

        Assert.Equal(0, process.ExitCode); // it finished by itself at end of input: not killed
    }

    [Fact]
    public async Task The_quit_key_is_sent_before_stdin_closes()
    {
        var launch = Shell("c=$(head -c 1); echo \"got $c\" >&2") with { Stop = StopRequest.QuitKey };
        await using var process = SupervisedProcess.Start(launch);

        await process.StopAsync(Bound).WaitAsync(Bound);
        await process.DrainStderrAsync();

        Assert.Equal(0, process.ExitCode);
        Assert.Equal(["got q"], process.StderrTail);
    }

    [Fact]
    public async Task A_child_that_ignores_the_stop_request_is_killed_with_its_children_after_the_grace()
    {
        // The shell starts a grandchild, prints its pid and waits; neither reads stdin.
        await using var process = SupervisedProcess.Start(Shell("sleep 60 & echo $!; wait"));
        var reader = new StreamReader(process.Stdout);
        int grandchild = int.Parse((await reader.ReadLineAsync().WaitAsync(Bound))!, System.Globalization.CultureInfo.InvariantCulture);
        var clock = Stopwatch.StartNew();

        await process.StopAsync(TimeSpan.FromMilliseconds(300)).WaitAsync(Bound);

        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(250), $"killed before the grace: {clock.Elapsed}");
        Assert.NotEqual(0, process.ExitCode);
        await WaitFor.ConditionAsync(() => !IsRunning(grandchild), Bound, $"the grandchild {grandchild} to be gone");
    }

    [Fact]
    public async Task The_grace_counts_from_the_last_sign_of_life()
    {
        // Ignores its stdin and writes for about four seconds: with a three-second grace it would be killed, but each line
        // it writes is activity, so it finishes by itself.
        await using var process = SupervisedProcess.Start(Shell("i=0; while [ $i -lt 20 ]; do echo tick; sleep 0.2; i=$((i+1)); done"));
        long lastActivity = Environment.TickCount64;
        var reading = Task.Run(async () =>
        {
            var reader = new StreamReader(process.Stdout);
            while (await reader.ReadLineAsync() is not null) Volatile.Write(ref lastActivity, Environment.TickCount64);
        });

        await process.StopAsync(TimeSpan.FromSeconds(3), () => Volatile.Read(ref lastActivity)).WaitAsync(Bound);
        await reading.WaitAsync(Bound);

        Assert.Equal(0, process.ExitCode);
    }

    [Fact]
    public async Task Ffmpeg_progress_on_stdout_is_parsed_while_it_runs()
    {
        var progress = new FfmpegProgress();
        var launch = new ProcessLaunch("ffmpeg",
            ["-hide_banner", "-nostats", "-loglevel", "error", "-progress", "pipe:1", "-f", "lavfi", "-i", "testsrc=size=64x64:rate=10", "-t", "2", "-f", "null", "-"])
        {
            Progress = progress,
        };
        await using var process = SupervisedProcess.Start(launch);
        Assert.Throws<InvalidOperationException>(() => process.Stdout);

        await process.Exited.WaitAsync(Bound);
        await process.DisposeAsync(); // waits for the progress reader

        Assert.Equal(0, process.ExitCode);
        Assert.True(progress.Ended);
        Assert.Equal(20, progress.Frames);
    }

    [Fact]
    public async Task A_crashing_child_is_restarted_after_growing_waits_until_its_owner_stops()
    {
        var backoff = new RestartBackoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200));
        var waits = new List<TimeSpan>();
        var reasons = new List<string>();
        var exitCodes = new List<int>();
        await RestartLoop.RunAsync(async cancellationToken =>
        {
            if (exitCodes.Count == 5) return RunVerdict.Stop;
            var run = await SupervisedProcess.RunAsync(Shell("echo \"crash $1\" >&2; exit 3", exitCodes.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                Bound, cancellationToken);
            exitCodes.Add(run.ExitCode);
            return RunVerdict.Failed(TimeSpan.Zero, run.Stderr);
        }, backoff, (wait, verdict) => { waits.Add(wait); reasons.Add(verdict.Reason!); }, TimeProvider.System, CancellationToken.None).WaitAsync(Bound);

        Assert.Equal([3, 3, 3, 3, 3], exitCodes);
        Assert.Equal([50, 100, 200, 200, 200], waits.Select(w => w.TotalMilliseconds));
        Assert.Equal(["crash 0", "crash 1", "crash 2", "crash 3", "crash 4"], reasons);
    }

    [Fact]
    public async Task A_deliberate_restart_does_not_wait_and_may_reset_the_backoff()
    {
        var backoff = new RestartBackoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(10));
        var verdicts = new Queue<RunVerdict>([RunVerdict.Failed(TimeSpan.Zero, "a"), RunVerdict.Failed(TimeSpan.Zero, "b"),
            RunVerdict.RestartNow(resetBackoff: false), RunVerdict.Failed(TimeSpan.Zero, "c"), RunVerdict.RestartNow(resetBackoff: true),
            RunVerdict.Failed(TimeSpan.Zero, "d"), RunVerdict.Stop]);
        var waits = new List<double>();
        await RestartLoop.RunAsync(async cancellationToken =>
        {
            var run = await SupervisedProcess.RunAsync(new ProcessLaunch("/bin/true", []), Bound, cancellationToken);
            Assert.Equal(0, run.ExitCode);
            return verdicts.Dequeue();
        }, backoff, (wait, _) => waits.Add(wait.TotalMilliseconds), TimeProvider.System, CancellationToken.None).WaitAsync(Bound);

        Assert.Equal([50, 100, 200, 50], waits);
        Assert.Empty(verdicts);
    }

    [Fact]
    public async Task Stopping_the_owner_ends_a_backoff_wait()
    {
        using var stop = new CancellationTokenSource();
        var loop = RestartLoop.RunAsync(_ => Task.FromResult(RunVerdict.Failed(TimeSpan.Zero, "down")),
            new RestartBackoff(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10)), (_, _) => stop.Cancel(), TimeProvider.System, stop.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => loop.WaitAsync(Bound));
    }

    private static bool IsRunning(int pid)
    {
        // Gone, or a zombie waiting for a reaper that is not ours: either way it no longer runs.
        try { return !File.ReadAllText($"/proc/{pid}/stat").Split(") ")[1].StartsWith('Z'); }
        catch (IOException) { return false; }
    }
}
