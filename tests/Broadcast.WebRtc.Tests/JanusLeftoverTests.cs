using System.Diagnostics;
using Broadcast.TestSupport;
using Broadcast.WebRtc.Janus;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Broadcast.WebRtc.Tests;

/// <summary>
/// A Janus left running by a server that was killed outright: the next start ends it (its pid file names it, with its
/// start time) and takes its port; a pid file naming anything else, or a pid since given to another process, ends nothing.
/// </summary>
[Trait("Kind", "Component")]
public sealed class JanusLeftoverTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_next_start_kills_the_janus_a_killed_server_left_and_takes_its_port()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var directory = new TempDirectory("janus-leftover");
        var options = new JanusOptions { ConfigDirectory = directory.Path, HttpPort = FreePort.Tcp() };

        // The earlier run: its supervisor started this Janus, wrote its pid file, and died without a word.
        var files = new JanusConfigFiles(options, directory.Path);
        files.Write(options.HttpPort, "earlier-secret");
        using var leftover = Process.Start(new ProcessStartInfo(options.Binary, ["-C", files.MainFile, "-F", files.Directory, "--disable-colors"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        })!;
        try
        {
            leftover.BeginOutputReadLine();
            leftover.BeginErrorReadLine();
            await WaitFor.ConditionAsync(() => FreePort.IsListeningAsync(options.HttpPort), Bound, "the earlier Janus to listen");
            new JanusPidFile(directory.Path, options.Binary).Write(leftover.Id);

            await using var supervisor = new JanusSupervisor(Options.Create(options), NullLogger<JanusSupervisor>.Instance);
            var session = await supervisor.GetSessionAsync(CancellationToken.None);

            Assert.True(leftover.HasExited, "the earlier Janus still runs");
            Assert.NotEqual(leftover.Id, supervisor.ProcessId);
            Assert.True(session.Id > 0);
            string pidFile = Path.Combine(directory.Path, JanusPidFile.FileName);
            Assert.StartsWith($"{supervisor.ProcessId} ", await File.ReadAllTextAsync(pidFile), StringComparison.Ordinal);
            await supervisor.StopAsync(CancellationToken.None);
            Assert.False(File.Exists(pidFile));
        }
        finally
        {
            if (!leftover.HasExited) leftover.Kill();
        }
    }

    [Fact]
    public async Task A_recorded_process_that_passes_both_checks_is_killed_and_awaited()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var directory = new TempDirectory("janus-leftover");
        using var standIn = Sleep();
        var pidFile = new JanusPidFile(directory.Path, "janus", argv => argv[0] == "sleep");
        pidFile.Write(standIn.Id);

        Assert.Equal(standIn.Id, await pidFile.EndLeftoverAsync());
        Assert.True(standIn.WaitForExit(Bound), "the stand-in still runs");
        Assert.False(File.Exists(pidFile.Path));
    }

    [Fact]
    public async Task A_pid_file_naming_a_process_that_is_not_janus_or_started_at_another_time_ends_nothing()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var directory = new TempDirectory("janus-leftover");
        using var other = Sleep();
        try
        {
            // Not janus: the command line is sleep's.
            var pidFile = new JanusPidFile(directory.Path, "janus");
            pidFile.Write(other.Id);
            Assert.Null(await pidFile.EndLeftoverAsync());
            Assert.False(other.HasExited);

            // The pid, but another start time: the kernel gave the pid to another process since.
            var anyCommand = new JanusPidFile(directory.Path, "janus", _ => true);
            anyCommand.Write(other.Id);
            string[] recorded = (await File.ReadAllTextAsync(anyCommand.Path)).Split(' ');
            await File.WriteAllTextAsync(anyCommand.Path, $"{recorded[0]} {long.Parse(recorded[1].Trim(), System.Globalization.CultureInfo.InvariantCulture) - 1}\n");
            Assert.Null(await anyCommand.EndLeftoverAsync());
            Assert.False(other.HasExited);

            // Garbage ends nothing either.
            await File.WriteAllTextAsync(anyCommand.Path, "1 0\n");
            Assert.Null(await anyCommand.EndLeftoverAsync());
        }
        finally
        {
            other.Kill();
        }
    }

    private static Process Sleep() => Process.Start(new ProcessStartInfo("sleep", ["600"]))!;
}
