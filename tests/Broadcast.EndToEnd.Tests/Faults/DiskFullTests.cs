using Broadcast.EndToEnd.Tests.Storage;
using Broadcast.Storage;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Faults;

/// <summary>
/// A real full disk under the filesystem store: <c>Storage:Path</c> is a 16 MB tmpfs (the tests run as root here and
/// on CI, which can mount one), filled to the last byte while a channel is live. Own server: its store must live on
/// that mount.
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class DiskFullTests
{
    [Fact]
    public async Task A_full_disk_is_reported_once_the_live_window_goes_on_from_memory_and_writes_resume_when_space_returns()
    {
        using var mount = new TempDirectory("broadcast-fulldisk");
        var mounted = await ExternalProcess.RunAsync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", mount.Path], TimeSpan.FromSeconds(30));
        Assert.True(mounted.ExitCode == 0, $"mount -t tmpfs failed (the test needs root to mount a small disk): {mounted.OutputTail}");
        try
        {
            await RunAsync(Path.Combine(mount.Path, "media"), Path.Combine(mount.Path, "filler"));
        }
        finally
        {
            await ExternalProcess.RunAsync("umount", ["-l", mount.Path], TimeSpan.FromSeconds(30));
        }
    }

    private static async Task RunAsync(string media, string filler)
    {
        Directory.CreateDirectory(media);
        await using var server = await ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments = [$"--Storage:Path={media}", "--Storage:Queue:MaxRetryDelay=00:00:01"],
        });
        string Log(string m) => $"{m}{Environment.NewLine}--- server log ---{Environment.NewLine}{server.LogTail(80)}";
        var channel = await server.Api.CreateChannelAsync($"full disk {Guid.NewGuid():N}");
        await using var publisher = LavfiPublisher.Start(server.RtmpUrl(channel.StreamKey));
        string live = await Fault.WaitForAdvanceAsync(server.Viewer, channel.Slug, 0, 2, TimeSpan.FromSeconds(60), () => Log(publisher.Log.Tail(10)));

        // 1. Fill the disk to the last byte.
        await using (var fill = new FileStream(filler, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1))
        {
            var block = new byte[64 * 1024];
            Random.Shared.NextBytes(block);
            try
            {
                for (int i = 0; i < 16 * 16 + 16; i++)
                {
                    fill.Write(block);
                    fill.Flush();
                }

                Assert.Fail("the 16 MB tmpfs took more than 17 MB");
            }
            catch (IOException)
            {
                // ENOSPC: full.
            }
        }

        // 2. The error shows in /status/store and in the channel's live warnings.
        long atFull = Fault.LastNumber(await Fault.PlaylistAsync(server.Viewer, channel.Slug));
        UploadBacklogStatus? status = null;
        await WaitFor.ConditionAsync(async () =>
        {
            status = await S3Nodes.BacklogAsync(server);
            return status is { StoreReachable: false, PendingObjects: > 0 };
        }, TimeSpan.FromSeconds(30), "/status/store to report the failing disk", () => Log($"{status}"));
        Assert.Contains("No space left on device", status!.LastError ?? "");
        ChannelStatus? live1 = null;
        await WaitFor.ConditionAsync(async () =>
        {
            live1 = await server.Api.GetChannelAsync(channel.Id);
            return live1.ToString().Contains("segment storage cannot write", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(20), "a storage warning in the channel's live status", () => Log($"{live1}"));

        // 3. The live window goes on from memory: the playlist advances three segments past the fill, the newest segment
        // is served although it is not on disk, and the served playlist has no gap.
        live = await Fault.WaitForAdvanceAsync(server.Viewer, channel.Slug, atFull, 3, TimeSpan.FromSeconds(40), () => Log(""));
        Assert.Null(Fault.Gap(live));
        var (_, segments) = S3Nodes.ParsePlaylist(live);
        using (var newest = await server.Viewer.GetAsync($"live/{channel.Slug}/source/{segments[^1]}"))
        {
            Assert.True(newest.IsSuccessStatusCode, Log($"{(int)newest.StatusCode} for {segments[^1]} during the full disk"));
            Assert.True((await newest.Content.ReadAsByteArrayAsync()).Length > 0);
        }
        Assert.False(File.Exists(Path.Combine(media, channel.Slug, "source", segments[^1])), $"{segments[^1]} reached a full disk?");
        Assert.False(server.HasExited, Log("the server died on a full disk"));
        Assert.False(publisher.HasExited, Log("the publisher was dropped: " + publisher.Log.Tail(10)));

        // 4. Space returns: the held objects are written, the episode ends, the store is reachable again.
        File.Delete(filler);
        await WaitFor.ConditionAsync(async () =>
        {
            status = await S3Nodes.BacklogAsync(server);
            return status is { StoreReachable: true, PendingObjects: 0 };
        }, TimeSpan.FromSeconds(40), "/status/store to report the disk writable and nothing held", () => Log($"{status}"));
        live = await Fault.WaitForAdvanceAsync(server.Viewer, channel.Slug, Fault.LastNumber(live), 1, TimeSpan.FromSeconds(30), () => Log(""));
        Assert.Null(Fault.Gap(live));
        (_, segments) = S3Nodes.ParsePlaylist(live);
        await WaitFor.ConditionAsync(() => segments.All(s => File.Exists(Path.Combine(media, channel.Slug, "source", s))),
            TimeSpan.FromSeconds(20), "every segment of the live window on disk again", () => Log(live));

        // 5. Reported once per episode, with its stable event id, and its end.
        string log = server.LogTail(5000);
        var failing = log.Split('\n').Where(l => l.Contains("serving the live window from memory", StringComparison.Ordinal)).ToList();
        Assert.True(failing.Count == 1, Log($"{failing.Count} reports of the episode"));
        Assert.Contains("4520", failing[0]);
        Assert.Contains("takes writes again", log);
        Assert.DoesNotContain("Packaging " + channel.Slug + " failed", log);
        Assert.False(server.HasExited);
    }
}
