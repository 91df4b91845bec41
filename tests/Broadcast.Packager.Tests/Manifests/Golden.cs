using System.Runtime.CompilerServices;

namespace Broadcast.Packager.Tests.Manifests;

/// <summary>
/// Compares text with a file under tests/Broadcast.Packager.Tests/Golden. Run with UPDATE_GOLDEN=1 to rewrite the
/// files from the current output, then review the diff before committing.
/// </summary>
internal static class Golden
{
    public static void Verify(string name, string actual, [CallerFilePath] string caller = "")
    {
        string dir = Path.Combine(Path.GetDirectoryName(caller)!, "..", "Golden");
        string path = Path.GetFullPath(Path.Combine(dir, name));
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(dir);
            File.WriteAllText(path, actual);
            return;
        }
        Assert.True(File.Exists(path), $"Golden file {path} is missing; run the tests with UPDATE_GOLDEN=1 to create it.");
        string expected = File.ReadAllText(path).ReplaceLineEndings("\n");
        Assert.Equal(expected, actual);
    }

    /// <summary>A golden file's text (line endings as the writers make them), as input to a reader's tests.</summary>
    public static string Read(string name, [CallerFilePath] string caller = "") =>
        File.ReadAllText(Path.Combine(Path.GetDirectoryName(caller)!, "..", "Golden", name)).ReplaceLineEndings("\n");
}
