
namespace Broadcast.Storage.Notifications;

/// <summary>
/// Sits between the upload queue and the S3 store on an ingest node: once a put has returned (the object is readable
/// from S3), queues its key on <see cref="StoredObjectNotifier"/>; so does a delete. Reads and listings pass through.
/// </summary>
public sealed class NotifyingSegmentStore(ISegmentStore inner, StoredObjectNotifier notifier) : ISegmentStore
{
    public async ValueTask PutAsync(string key, ReadOnlyMemory<byte> data, string contentType, string? cacheControl,
        CancellationToken cancellationToken)
    {
        await inner.PutAsync(key, data, contentType, cacheControl, cancellationToken).ConfigureAwait(false);
        notifier.Enqueue(key);
    }

    public ValueTask<StoredObject?> GetAsync(string key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

    /// <summary>Deletes are notified too: an origin-only node then drops its cached copy (a deleted channel's or recording's objects).</summary>
    public async ValueTask DeleteAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        await inner.DeleteAsync(keys, cancellationToken).ConfigureAwait(false);
        foreach (string key in keys) notifier.Enqueue(key);
    }

    public IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);
}
