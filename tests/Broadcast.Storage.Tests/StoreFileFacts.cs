namespace Broadcast.Storage.Tests;

/// <summary>What the filesystem store tests read besides the store: inode numbers (stat(1), as ext4 hands them out) and listings.</summary>
internal static class StoreFileFacts
{
    public static string Inode(string path)
    {
        var info = new System.Diagnostics.ProcessStartInfo("stat") { RedirectStandardOutput = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("%i");
        info.ArgumentList.Add(path);
        using var process = System.Diagnostics.Process.Start(info)!;
        string inode = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return inode;
    }

    public static async Task<List<string>> ToListAsync(IAsyncEnumerable<string> items)
    {
        var list = new List<string>();
        await foreach (var item in items) list.Add(item);
        return list;
    }
}
