namespace Broadcast.TestSupport;

/// <summary>
/// tests/players: the static player pages and their npm dependencies (hls.js, dashjs, shaka-player, pinned in
/// package.json/package-lock.json). ./test.sh runs <c>npm ci</c>; when node_modules is missing (a test run
/// straight from an IDE) this runs it once, under a lock so parallel hosts don't race.
/// </summary>
public static class PlayerAssets
{
    private static readonly SemaphoreSlim s_gate = new(1, 1);
    private static bool s_ready;

    public static string Directory => RepoPaths.Players;

    public static async Task<string> EnsureInstalledAsync()
    {
        if (s_ready)
        {
            return Directory;
        }

        await s_gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!Installed())
            {
                using var _ = await CrossProcessLock.AcquireAsync(Path.Combine(Path.GetTempPath(), "broadcast-players-npm.lock"), TimeSpan.FromMinutes(5)).ConfigureAwait(false);
                if (!Installed())
                {
                    var r = await ExternalProcess.RunAsync(
                        "npm", ["ci", "--no-audit", "--no-fund"], TimeSpan.FromMinutes(4), workingDirectory: Directory).ConfigureAwait(false);
                    if (r.ExitCode != 0 || !Installed())
                    {
                        throw new InvalidOperationException($"npm ci in {Directory} failed (exit {r.ExitCode}):{Environment.NewLine}{r.OutputTail}");
                    }
                }
            }

            s_ready = true;
            return Directory;
        }
        finally
        {
            s_gate.Release();
        }
    }

    private static bool Installed() =>
        File.Exists(Path.Combine(Directory, "node_modules", "hls.js", "dist", "hls.min.js"))
        && File.Exists(Path.Combine(Directory, "node_modules", "dashjs", "dist", "modern", "umd", "dash.all.min.js"))
        && File.Exists(Path.Combine(Directory, "node_modules", "shaka-player", "dist", "shaka-player.compiled.js"));
}
