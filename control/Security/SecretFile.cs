using System.Security.Cryptography;

namespace Broadcast.Control.Security;

/// <summary>
/// A secret generated once and kept in a file readable only by the server's user (mode 600).
/// Creation is atomic (write a private temp file, then link it into place without overwrite), so two
/// processes starting together agree on one value instead of one overwriting the other's.
/// </summary>
internal static class SecretFile
{
    public static string ReadOrCreate(string path, Func<string> generate, out bool created)
    {
        var fullPath = Path.GetFullPath(path);
        if (File.Exists(fullPath))
        {
            created = false;
            return ReadExisting(fullPath);
        }

        var directory = Path.GetDirectoryName(fullPath)!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}.tmp");
        var value = generate();
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using (var stream = new FileStream(temp, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(value);
                writer.Write('\n');
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }

            if (TryPublish(temp, fullPath))
            {
                created = true;
                return value;
            }

            // Another process won the race: use its value.
            created = false;
            return ReadExisting(fullPath);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>
    /// Puts the finished temp file at <paramref name="path"/> unless something is already there, atomically.
    /// .NET's File.Move without overwrite checks and then renames on Unix, so two processes can both "win";
    /// link(2) fails with EEXIST instead, which is the guarantee this needs.
    /// </summary>
    private static bool TryPublish(string temp, string path)
    {
        if (OperatingSystem.IsWindows())
        {
            try
            {
                File.Move(temp, path, overwrite: false);
                return true;
            }
            catch (IOException) when (File.Exists(path))
            {
                return false;
            }
        }

        if (link(temp, path) == 0) return true;
        int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        const int EEXIST = 17;
        if (errno == EEXIST) return false;
        throw new IOException($"Could not create the secret file '{path}' (errno {errno}).");
    }

#pragma warning disable SYSLIB1054 // DllImport keeps this free of unsafe code; it runs once per start.
    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int link(string oldpath, string newpath);
#pragma warning restore SYSLIB1054

    private static string ReadExisting(string path)
    {
        var text = File.ReadAllText(path).Trim();
        if (text.Length == 0)
        {
            throw new InvalidOperationException($"The secret file '{path}' is empty; delete it to have a new one generated.");
        }

        return text;
    }
}
