using Broadcast.Packager.Manifests;
using Broadcast.Storage;

namespace Broadcast.Packager.Live;

/// <summary>
/// The recording (VOD) of a recorded broadcast: once it ended, every rendition's whole-broadcast media playlist
/// (EXT-X-PLAYLIST-TYPE:VOD), a master and a static MPD under <c>recordings/{broadcastId}/</c> that name them, and its poster (the last live thumbnail). It counts
/// what the recording holds as it is stored (segments, init segments, those manifests, the poster), so <see cref="Recorded"/> needs
/// no read of the store.
/// </summary>
internal sealed class RecordingWriter(PackagedBroadcast broadcast) : IPackagerListener
{
    private long _bytes;

    /// <summary>The recording's duration and size; null until the broadcast ended and its manifests are stored.</summary>
    public RecordedMedia? Recorded { get; private set; }

    public void OnInitStored(string rendition, int initVersion, long bytes) => _bytes += bytes;

    public void OnSegmentStored(Segmenting.SegmentDescription segment) => _bytes += segment.ByteSize;

    public async Task OnEndedAsync(CancellationToken cancellationToken)
    {
        string channel = broadcast.Channel, id = broadcast.BroadcastId;
        long last = broadcast.LastNumber();
        long bytes = _bytes;
        foreach (var t in broadcast.AllTimelines())
        {
            if (t.Entries.Count == 0) continue;
            string text = HlsPlaylistWriter.WriteMediaPlaylist(t, id, 0, PlaylistState.Vod, broadcast.Breaks.Placed);
            bytes += await broadcast.PutManifestAsync(StoreKeys.VodPlaylist(channel, t.Name, id), text, ContentTypes.Hls, CachePolicies.Vod, last, cancellationToken)
                .ConfigureAwait(false);
        }
        var withSegments = broadcast.VideoTimelines.Where(t => t.Entries.Count > 0).ToList();
        var audio = broadcast.AudioTimeline is { Entries.Count: > 0 } a ? a : null;
        string master = HlsPlaylistWriter.WriteMaster(withSegments, audio, r => $"{StoreKeys.RecordingToChannel}{r}/{id}.m3u8", broadcast.Captions);
        bytes += await broadcast.PutManifestAsync(StoreKeys.RecordingMaster(channel, id), master, ContentTypes.Hls, CachePolicies.Vod, last, cancellationToken)
            .ConfigureAwait(false);
        string mpd = DashManifestWriter.Write(withSegments, audio, broadcast.MpdSettings(1, isStatic: true, StoreKeys.RecordingToChannel));
        bytes += await broadcast.PutManifestAsync(StoreKeys.RecordingMpd(channel, id), mpd, ContentTypes.Dash, CachePolicies.Vod, last, cancellationToken)
            .ConfigureAwait(false);
        bytes += await KeepPosterAsync(channel, id, cancellationToken).ConfigureAwait(false);

        // The duration is the first variant's: the rendition the master names first (retired ones it leaves out), as its
        // VOD playlist's EXTINFs add up.
        var first = withSegments.FirstOrDefault(t => !t.Retired) ?? audio;
        Recorded = first is null
            ? new RecordedMedia(0, Media.Timescales.Milliseconds, bytes)
            : new RecordedMedia(first.ListedDuration, first.Timescale, bytes);
    }

    /// <summary>
    /// The channel's last live thumbnail becomes the recording's poster (the watch page's picture before playback and its
    /// link preview). A broadcast too short for a thumbnail has none. Returns the bytes stored.
    /// </summary>
    private async Task<long> KeepPosterAsync(string channel, string id, CancellationToken cancellationToken)
    {
        if (await broadcast.Store.GetAsync(StoreKeys.Thumbnail(channel), cancellationToken).ConfigureAwait(false) is not { } thumbnail) return 0;
        await broadcast.Store.PutAsync(StoreKeys.RecordingPoster(channel, id), thumbnail.Data, ContentTypes.Jpeg, CachePolicies.Vod, cancellationToken)
            .ConfigureAwait(false);
        return thumbnail.Data.Length;
    }
}
