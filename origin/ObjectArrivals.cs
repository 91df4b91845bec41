namespace Broadcast.Origin;

/// <summary>
/// Wakes requests that wait for an object to appear (LL-HLS blocking playlist reload, a preload-hinted part, an
/// LL-DASH segment being written): every put through <see cref="RecentObjectCache"/> completes the waiters of its
/// folder (<c>{channel}/{rendition}</c>), which then look again. No polling: a waiter costs one task until the next
/// put in its folder, several times a second for a live rendition.
/// </summary>
public sealed class ObjectArrivals
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource> _folders = new(StringComparer.Ordinal);

    /// <summary>Completes at the next put under <paramref name="folder"/>. Take it before looking, so a put in between is not missed.</summary>
    public Task NextIn(string folder) =>
        _folders.GetOrAdd(folder, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Whether a request waits on <paramref name="folder"/> now (for tests and diagnostics).</summary>
    public bool HasWaiters(string folder) => _folders.ContainsKey(folder);

    private volatile bool _subscribed;

    /// <summary>
    /// True while another process's puts reach <see cref="Notify"/> through a live subscription (PostgreSQL
    /// <c>LISTEN</c> on an origin-only node): waiters then need no store polling
    /// (<see cref="OriginOptions.BlockingRecheckMilliseconds"/> is the fallback while it is false).
    /// </summary>
    public bool Subscribed
    {
        get => _subscribed;
        set => _subscribed = value;
    }

    /// <summary>An object was stored (or replaced) under <paramref name="key"/>.</summary>
    public void Notify(string key)
    {
        if (_folders.TryRemove(FolderOf(key), out var waiters)) waiters.TrySetResult();
    }

    public static string FolderOf(string key)
    {
        int slash = key.LastIndexOf('/');
        return slash < 0 ? string.Empty : key[..slash];
    }
}
