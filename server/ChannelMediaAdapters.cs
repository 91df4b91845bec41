using Broadcast.Control.Channels;
using Broadcast.Media;
using Broadcast.Packager.Live;
using Broadcast.Packager.Storage;
using Broadcast.Packager.Storage.S3;

namespace Broadcast.Server;

/// <summary>
/// Deletes a channel's objects (<c>{slug}/…</c>: live manifests, segments, parts, init segments and recordings) from
/// this node's store. Through the node's own store first, so its memory cache drops them and an upload queue drops
/// puts still waiting for them; with S3 the bucket is then also told directly, so the objects are gone when this
/// returns, not when a queue behind an outage drains.
/// </summary>
internal sealed class StoreChannelMedia(ISegmentStore store, S3SegmentStore? bucket = null, LiveStreamRegistry? streams = null, LivePackager? packager = null)
    : IChannelMedia
{
    private const int Batch = 1000;

    public bool IsWriting(string slug) => streams?.Find(slug) is not null || packager?.IsPackaging(slug) == true;

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

/// <summary>
/// On an ingest node: when a broadcast finishes whose channel no longer exists (deleted through another node while
/// it was live there, or a publish that slipped in while the channel was being deleted), removes everything stored
/// under its slug, final manifests included, so a deleted private channel leaves nothing behind that would now be
/// served openly. <see cref="EventEndWatchdog"/> ends such a broadcast within seconds of the delete.
/// </summary>
internal sealed partial class DeletedChannelMediaSweeper(LivePackager packager, ChannelService channels, IChannelMedia media,
    ILogger<DeletedChannelMediaSweeper> logger) : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _pending = [];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        packager.StreamFinished += OnFinished;
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        packager.StreamFinished -= OnFinished;
        Task[] pending;
        lock (_pending) pending = [.. _pending];
        try
        {
            await Task.WhenAll(pending).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }
    }

    private void OnFinished(StreamPackagerStatus status)
    {
        var task = Task.Run(() => SweepAsync(status.Channel, _stopping.Token));
        lock (_pending)
        {
            _pending.RemoveAll(t => t.IsCompleted);
            _pending.Add(task);
        }
    }

    internal async Task SweepAsync(string slug, CancellationToken cancellationToken)
    {
        try
        {
            if (await channels.GetBySlugAsync(slug, cancellationToken).ConfigureAwait(false) is not null) return;
            int objects = await media.DeleteAllAsync(slug, cancellationToken).ConfigureAwait(false);
            LogSwept(slug, objects);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogFailed(ex, slug);
        }
    }

    [LoggerMessage(EventId = 9105, Level = LogLevel.Information, Message = "Broadcast of deleted channel {Channel} finished: its {Objects} stored objects were removed")]
    private partial void LogSwept(string channel, int objects);

    [LoggerMessage(EventId = 9106, Level = LogLevel.Error, Message = "Removing the stored objects of deleted channel {Channel} failed")]
    private partial void LogFailed(Exception ex, string channel);
}
