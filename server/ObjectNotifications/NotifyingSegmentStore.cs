using Broadcast.Packager.Storage;

namespace Broadcast.Server.ObjectNotifications;

/// <summary>
/// Sits between the upload queue and the S3 store on an ingest node: once a put has returned (the object is readable
/// from S3), queues its key on <see cref="StoredObjectNotifier"/>. Reads, deletes and listings pass through.
/// </summary>
internal sealed class NotifyingSegmentStore(ISegmentStore inner, StoredObjectNotifier notifier) : ISegmentStore
{
    public async ValueTask PutAsync(string key, ReadOnlyMemory<byte> data, string contentType, string? cacheControl, CancellationToken cancellationToken)
    {
        await inner.PutAsync(key, data, contentType, cacheControl, cancellationToken).ConfigureAwait(false);
        notifier.Enqueue(key);
    }

    public ValueTask<StoredObject?> GetAsync(string key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

    public ValueTask DeleteAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken) => inner.DeleteAsync(keys, cancellationToken);

    public IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);
}
