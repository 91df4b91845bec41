namespace Broadcast.Storage;

/// <summary>
/// Where segments and manifests live. Keys are relative paths below <c>/live/</c>, built only from
/// validated channel and rendition names: <c>{channel}/master.m3u8</c>, <c>{channel}/{rendition}/{file}</c>.
/// Implementations: filesystem (embedded default) and S3.
/// </summary>
public interface ISegmentStore
{
    /// <summary>
    /// Stores an object. Replacing an existing key is atomic: readers see the old or the new bytes, never a mix.
    /// <paramref name="cacheControl"/> is the HTTP Cache-Control the packager chose (segments immutable, live
    /// manifests short); stores keep it with the object so any origin serves the same policy.
    /// </summary>
    ValueTask PutAsync(string key, ReadOnlyMemory<byte> data, string contentType, string? cacheControl, CancellationToken cancellationToken);

    /// <summary>Reads an object, or null when it does not exist.</summary>
    ValueTask<StoredObject?> GetAsync(string key, CancellationToken cancellationToken);

    ValueTask DeleteAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken);

    /// <summary>Keys under a prefix (for cleanup and recordings).</summary>
    IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken cancellationToken);
}

/// <summary>An object read from the store. <see cref="ETag"/> is a strong validator of <see cref="Data"/>.</summary>
public sealed record StoredObject(ReadOnlyMemory<byte> Data, string ContentType, string? CacheControl, DateTimeOffset LastModified, string ETag);
