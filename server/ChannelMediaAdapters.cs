using Broadcast.Control.Channels;
using Broadcast.Media;
using Broadcast.Packager.Live;
using Broadcast.Storage;
using Broadcast.Storage.S3;

namespace Broadcast.Server;

/// <summary>
/// Deletes a channel's objects (<c>{slug}/…</c>: live manifests, segments, parts, init segments and recordings) from
/// this node's store. Through the node's own store first, so its memory cache drops them and an upload queue drops
/// puts still waiting for them; with S3 the bucket is then also told directly, so the objects are gone when this
/// returns, not when a queue behind an outage drains.
/// </summary>
internal sealed class StoreChannelMedia(ISegmentStore store, S3SegmentStore? bucket = null, LiveStreamRegistry? streams = null,
    LivePackager? packager = null,
    TimeProvider? time = null)
    : IChannelMedia
{
    private const int Batch = 1000;

    /// <summary>How recently a dynamic manifest must have been rewritten to count as on air (segments are at most 10 s).</summary>
    internal static readonly TimeSpan OnAirWithin = TimeSpan.FromSeconds(30);

    public bool IsWriting(string slug) => streams?.Find(slug) is not null || packager?.IsPackaging(slug) == true;

    /// <summary>
    /// The live MPD is rewritten every segment while a broadcast is on air and turns static when it ends: a dynamic one
    /// written within <see cref="OnAirWithin"/> means an ingest node (maybe another one) is writing this channel now.
    /// One that stopped changing longer ago is a crashed node's leftover, and no reason to keep the channel.
    /// </summary>
    public async ValueTask<bool> IsWrittenElsewhereAsync(string slug, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(slug);
        var mpd = await store.GetAsync(StoreKeys.Mpd(slug), cancellationToken).ConfigureAwait(false);
        return mpd is not null
            && (time ?? TimeProvider.System).GetUtcNow() - mpd.LastModified < OnAirWithin
            && mpd.Data.Span.IndexOf("type=\"dynamic\""u8) >= 0;
    }

    public async ValueTask<int> DeleteAllAsync(string slug, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(slug);
        if (slug.Contains('/', StringComparison.Ordinal) || slug.StartsWith('.'))
        {
            throw new ArgumentException("A slug is one path segment.", nameof(slug));
        }

        var keys = new List<string>();
        await foreach (var key in store.ListAsync(slug + "/", cancellationToken).ConfigureAwait(false)) keys.Add(key);
        for (int i = 0; i < keys.Count; i += Batch)
        {
            var batch = keys.GetRange(i, Math.Min(Batch, keys.Count - i));
            await store.DeleteAsync(batch, cancellationToken).ConfigureAwait(false);
            if (bucket is not null && !ReferenceEquals(bucket, store)) await bucket.DeleteAsync(batch, cancellationToken).ConfigureAwait(false);
        }

        return keys.Count;
    }
}
