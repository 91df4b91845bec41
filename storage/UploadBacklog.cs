namespace Broadcast.Storage;

/// <summary><c>Storage:Queue</c>: how much the ingest node holds while the remote store is unreachable.</summary>
public sealed class UploadQueueOptions
{
    public const string SectionName = "Storage:Queue";

    /// <summary>Bytes of waiting objects kept in memory; the rest spill to <see cref="SpillDirectory"/>.</summary>
    public long MemoryBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Folder for waiting objects beyond <see cref="MemoryBytes"/>; null or empty keeps everything in memory.</summary>
    public string? SpillDirectory { get; set; }

    /// <summary>Bytes allowed in <see cref="SpillDirectory"/>. Memory plus spill is the bound past which live-only segments are dropped.</summary>
    public long SpillBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>Longest wait between two attempts on an object while the store is down.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long shutdown waits for the backlog to drain before giving up on it.</summary>
    public TimeSpan FlushTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>The upload backlog, for status pages and metrics.</summary>
public interface IUploadBacklog
{
    UploadBacklogStatus GetStatus();
}

/// <param name="PendingObjects">Puts and deletes not yet done (queued or in flight).</param>
/// <param name="PendingBytes">Bytes of waiting objects, in memory and spilled.</param>
/// <param name="SpilledBytes">Of those, bytes in the spill folder.</param>
/// <param name="Uploaded">Objects stored since start.</param>
/// <param name="Dropped">Live-only segments dropped because the backlog passed its bound.</param>
/// <param name="StoreReachable">False from a failed attempt until the next success.</param>
/// <param name="LastError">The last failure's message.</param>
/// <param name="OldestPendingSince">When the oldest waiting object was handed in.</param>
public sealed record UploadBacklogStatus(int PendingObjects, long PendingBytes, long SpilledBytes, long Uploaded, long Dropped,
    bool StoreReachable, string? LastError, DateTimeOffset? OldestPendingSince);
