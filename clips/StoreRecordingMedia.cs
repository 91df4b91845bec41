using Broadcast.Control.Recordings;
using Broadcast.Packager.Live;
using Broadcast.Storage;

namespace Broadcast.Clips;

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
