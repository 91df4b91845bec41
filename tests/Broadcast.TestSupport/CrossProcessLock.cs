namespace Broadcast.TestSupport;

/// <summary>
/// An exclusive lock on a lock file, held across processes (parallel `dotnet test` hosts) and threads
/// (parallel xunit collections): on Linux .NET takes flock(LOCK_EX) for FileShare.None, which conflicts
/// between separate opens even inside one process.
/// </summary>
public sealed class CrossProcessLock : IDisposable
{
    private readonly FileStream _stream;

    private CrossProcessLock(FileStream stream) => _stream = stream;

    public static async Task<CrossProcessLock> AcquireAsync(string lockFilePath, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(lockFilePath))!);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                var fs = new FileStream(lockFilePath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
                return new CrossProcessLock(fs);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new TimeoutException($"Could not lock {lockFilePath} within {timeout.TotalSeconds:0} s.", e);
            }
        }
    }

    public void Dispose() => _stream.Dispose();
}
