namespace Broadcast.TestSupport;

/// <summary>Finds the repository from a test's output directory (tests/X/bin/Debug/net10.0/).</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    /// <summary>The folder holding Broadcast.sln; BROADCAST_REPO_ROOT overrides the search.</summary>
    public static string Root => s_root.Value;

    public static string Players => Path.Combine(Root, "tests", "players");

    private static string FindRoot()
    {
        var fromEnv = Environment.GetEnvironmentVariable("BROADCAST_REPO_ROOT");
        if (!string.IsNullOrEmpty(fromEnv))
        {
            return Path.GetFullPath(fromEnv);
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Broadcast.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No Broadcast.sln above {AppContext.BaseDirectory}; set BROADCAST_REPO_ROOT.");
    }
}
