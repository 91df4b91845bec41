using Broadcast.Control.Recordings;
using Broadcast.Packager.Live;
using Broadcast.Storage;

namespace Broadcast.Server;

/// <summary>Hands each broadcast the packager finished on this node to control's <see cref="FinishedBroadcasts"/>.</summary>
internal sealed class PackagerFinishedBroadcasts(LivePackager packager, FinishedBroadcasts finished) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        packager.StreamFinished += OnFinished;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        packager.StreamFinished -= OnFinished;
        return Task.CompletedTask;
    }

    private void OnFinished(BroadcastFinished done) => finished.Report(Describe(done));

    internal static FinishedBroadcast Describe(BroadcastFinished done)
    {
        var status = done.Status;
        var recording = done.Recording is { } r
            ? new RecordedBroadcast("/live/" + StoreKeys.RecordingMaster(status.Channel, status.BroadcastId),
                "/live/" + StoreKeys.RecordingMpd(status.Channel, status.BroadcastId), r.DurationMilliseconds, r.Bytes)
            : null;
        return new FinishedBroadcast(status.Channel, status.BroadcastId, status.Recording, recording);
    }
}

/// <summary>Deletes a recording's manifests, VOD playlists, segments and poster from the store, but for the segments a clip
/// of it still holds (<see cref="IRetentionHold"/>): the clip plays on.</summary>
internal sealed class StoreRecordingMedia(ISegmentStore store, IRetentionHold? hold = null) : IRecordingMedia
{
    public async ValueTask DeleteAsync(Recording recording, CancellationToken cancellationToken)
    {
        var (channel, broadcastId) = StoreKeys.ParseRecordingMaster(recording.HlsPath);
        if (channel is null || broadcastId is null) return;
        var keys = new List<string>();
        await foreach (var key in store.ListAsync(channel + "/", cancellationToken).ConfigureAwait(false))
            if (StoreKeys.IsRecordingObject(channel, broadcastId, key)) keys.Add(key);
        if (keys.Count == 0) return;
        var held = hold is null ? null : await hold.HeldAsync(channel, broadcastId, keys, cancellationToken).ConfigureAwait(false);
        if (held is { Count: > 0 }) keys.RemoveAll(held.Contains);
        if (keys.Count > 0) await store.DeleteAsync(keys, cancellationToken).ConfigureAwait(false);
    }
}
