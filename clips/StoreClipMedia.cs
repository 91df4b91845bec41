using System.Text;
using Broadcast.Control.Clips;
using Broadcast.Packager.Live;
using Broadcast.Packager.Manifests;
using Broadcast.Storage;

namespace Broadcast.Clips;

/// <summary>
/// A clip's objects: its playlists cut from the channel's stored ones (the live window, or a recording), written under
/// <c>{channel}/clips/{id}/</c>, naming the segments where the broadcast stored them.
/// </summary>
internal sealed class StoreClipMedia(ISegmentStore store, IClipRepository clips, ClipFinisher? finisher = null) : IClipMedia
{
    private const string ClipPlaylistName = ".m3u8";

    public async ValueTask<ClipCutResult> WriteAsync(ClipCutRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        string slug = request.ChannelSlug;
        string? recording = request.RecordingBroadcastId;
        string masterKey = recording is null ? StoreKeys.Master(slug) : StoreKeys.RecordingMaster(slug, recording);
        string master = await ReadAsync(masterKey, cancellationToken).ConfigureAwait(false)
            ?? throw new ClipRangeException(recording is null ? "from" : "recordingId", recording is null
                ? "The channel has no broadcast stored to clip from." : "The recording's playlists are not in the store.", conflict: true);
        // A protected broadcast's clip keeps its key tags (the master's EXT-X-SESSION-KEY; each media playlist's EXT-X-KEY, a
        // whole-segment key per segment with its IV) and its ends are decrypted, cut and encrypted again with the same key
        // (docs/protection.md).
        var (clipMaster, renditions) = Readable(() => ClipMaster.Rewrite(master, uri => RenditionOf(uri, recording), r => r + ClipPlaylistName));

        var playlists = new List<(string Rendition, StoredMediaPlaylist Playlist)>();
        foreach (var r in renditions)
        {
            string key = recording is null ? StoreKeys.MediaPlaylist(slug, r) : StoreKeys.VodPlaylist(slug, r, recording);
            string text = await ReadAsync(key, cancellationToken).ConfigureAwait(false)
                ?? throw new ClipRangeException("from", $"The stored playlist of rendition '{r}' is missing.", conflict: true);
            var parsed = Readable(() => StoredMediaPlaylist.Parse(text));
            // The finisher asks for a whole-segment key by the KID its URI names: a URI naming none could not be re-cut.
            if (parsed.Segments.FirstOrDefault(s => s.Key is { KeyId: null }) is { Key: { } nameless })
                throw new ClipRangeException(recording is null ? "from" : "recordingId",
                    $"The stored playlist of rendition '{r}' names a whole-segment key URI with no KID ('{nameless.Uri}', not …/key/{{kid}}).", conflict: true);
            playlists.Add((r, parsed));
        }
        // The video leads (its segments start on keyframes); audio follows the same range.
        var lead = playlists.FirstOrDefault(p => p.Rendition != StoreKeys.AudioRendition);
        if (lead.Playlist is null) lead = playlists[0];
        if (lead.Playlist.Start is not { } storedStart || lead.Playlist.End is not { } storedEnd)
            throw new ClipRangeException("from", "Nothing of the broadcast is stored yet.", conflict: true);

        var from = request.From.At ?? storedEnd.AddSeconds(request.From.SecondsFromEnd ?? 0);
        var to = request.To.At ?? storedEnd.AddSeconds(request.To.SecondsFromEnd ?? 0);
        if (to <= from) throw new ClipRangeException("to", $"'to' ({Iso(to)}) must be after 'from' ({Iso(from)}).", conflict: false);
        if (to - from > request.MaxLength)
            throw new ClipRangeException("to", $"A clip is at most {request.MaxLength.TotalSeconds:0} seconds (Clips:MaxSeconds).", conflict: false);
        if (from < storedStart)
            throw new ClipRangeException("from", $"'from' ({Iso(from)}) is before the oldest stored media ({Iso(storedStart)}).", conflict: true);
        if (to > storedEnd)
            throw new ClipRangeException("to", $"'to' ({Iso(to)}) is after the newest stored media ({Iso(storedEnd)}).", conflict: true);

        var cuts = new List<(string Rendition, ClipCut Cut)>();
        foreach (var (r, playlist) in playlists)
        {
            var cut = ClipPlaylist.Cut(playlist, from, to, StoreKeys.ClipToChannel + r + "/")
                ?? throw new ClipRangeException("from", $"Rendition '{r}' has no media stored in that range.", conflict: true);
            cuts.Add((r, cut));
        }
        var leadCut = cuts.First(c => c.Rendition == lead.Rendition).Cut;
        string broadcastId = BroadcastOf(lead.Playlist, leadCut)
            ?? throw new ClipRangeException("from", "The stored playlist names no segment of a broadcast.", conflict: true);
        var numbers = cuts.SelectMany(c => c.Cut.SegmentNumbers).ToList();

        var written = new List<string>();
        try
        {
            foreach (var (r, cut) in cuts)
                await PutAsync(StoreKeys.ClipMediaPlaylist(slug, request.ClipId, r), cut.Playlist, written, cancellationToken).ConfigureAwait(false);
            // The master last: a player finds the clip only once everything it names is there.
            await PutAsync(StoreKeys.ClipMaster(slug, request.ClipId), clipMaster, written, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await store.DeleteAsync(written, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        return new ClipCutResult(broadcastId, leadCut.Start, leadCut.End, numbers.Min(), numbers.Max()) { Asked = (from, to) };
    }

    /// <summary>Once its row is written, the clip is queued to be finished: its ends cut to the frame, its download made.</summary>
    public void Made(string channelSlug, Clip clip, ClipCutResult cut)
    {
        ArgumentNullException.ThrowIfNull(clip);
        ArgumentNullException.ThrowIfNull(cut);
        if (finisher is not null && cut.Asked is { } asked) finisher.TryQueue(new ClipFinishJob(channelSlug, clip.Id, asked.From, asked.To));
    }

    public async ValueTask DeleteAsync(string channelSlug, Clip clip, bool withSegments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(clip);
        string folder = StoreKeys.ClipFolder(channelSlug, clip.Id);
        var own = new List<string>();
        await foreach (var key in store.ListAsync(folder, cancellationToken).ConfigureAwait(false)) own.Add(key);
        var media = withSegments ? await MediaOfAsync(channelSlug, clip, own, cancellationToken).ConfigureAwait(false) : [];
        if (own.Count > 0) await store.DeleteAsync(own, cancellationToken).ConfigureAwait(false);
        if (media.Count == 0 || !await MayDeleteSegmentsAsync(channelSlug, clip.BroadcastId, cancellationToken).ConfigureAwait(false)) return;

        var others = await clips.HeldRangesAsync(channelSlug, clip.BroadcastId, cancellationToken).ConfigureAwait(false);
        // What the channel's live playlists name now stays: retention deletes it once it leaves the window (or the next
        // broadcast replaces them), asking the hold then.
        var named = new HashSet<string>(StringComparer.Ordinal);
        foreach (var rendition in media.Select(k => k.Split('/')[1]).Distinct(StringComparer.Ordinal))
            if (await ReadAsync(StoreKeys.MediaPlaylist(channelSlug, rendition), cancellationToken).ConfigureAwait(false) is { } live)
                foreach (var name in NamesIn(live)) named.Add($"{channelSlug}/{rendition}/{name}");
        var delete = media.Where(k => !named.Contains(k) && !ClipRetentionHold.Holds(others, clip.BroadcastId, k[(k.LastIndexOf('/') + 1)..]))
            .ToList();
        if (delete.Count > 0) await store.DeleteAsync(delete, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A running broadcast's retention asks the hold again and deletes what no clip holds; a recorded broadcast keeps its
    /// segments for the recording. Only the segments of an ended, unrecorded broadcast are the clip's to delete.
    /// </summary>
    private async Task<bool> MayDeleteSegmentsAsync(string slug, string broadcastId, CancellationToken cancellationToken)
    {
        var state = await store.GetAsync(StoreKeys.LiveState(slug), cancellationToken).ConfigureAwait(false);
        if (state is not null && LiveBroadcastState.TryParse(state.Data.Span, out _) is { } live && live.BroadcastId == broadcastId && !live.Ended)
            return false;
        await foreach (var _ in store.ListAsync($"{slug}/recordings/{broadcastId}/", cancellationToken).ConfigureAwait(false)) return false;
        return true;
    }

    /// <summary>The stored segments and init segments the clip's media playlists name, as store keys.</summary>
    private async Task<List<string>> MediaOfAsync(string slug, Clip clip, List<string> own, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        // The cut playlists and the ones kept from before the cut (which still name the stored segments the cut ends replaced).
        foreach (var playlistKey in own.Where(k => k.EndsWith(ClipPlaylistName, StringComparison.Ordinal) && !StoreKeys.IsMaster(k)
            || k.EndsWith(StoreKeys.ClipStoredSegmentsExtension, StringComparison.Ordinal)))
        {
            if (await ReadAsync(playlistKey, cancellationToken).ConfigureAwait(false) is not { } text) continue;
            StoredMediaPlaylist playlist;
            try { playlist = StoredMediaPlaylist.Parse(text); }
            catch (MediaPlaylistFormatException) { continue; }
            foreach (var uri in playlist.Segments.Where(s => !s.Gap).Select(s => s.Uri).Concat(playlist.Segments.Select(s => s.MapUri ?? "")))
            {
                // Only the broadcast's own files in a rendition folder: a damaged playlist names nothing else to delete.
                if (ClipObjects.KeyOf(slug, uri) is { } key && key.Split('/')[2].StartsWith(clip.BroadcastId + "-", StringComparison.Ordinal))
                    keys.Add(key);
            }
        }
        return keys.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>The file names a stored media playlist names: its segments (and parts, hints) and its maps.</summary>
    private static IEnumerable<string> NamesIn(string playlist)
    {
        foreach (var raw in playlist.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.Length > 0 && line[0] != '#') yield return line;
            else if (line.IndexOf("URI=\"", StringComparison.Ordinal) is int at and >= 0 && line.IndexOf('"', at + 5) is int end and > 0)
                yield return line[(at + 5)..end];
        }
    }

    /// <summary>A media playlist URI of a master → its rendition: <c>{r}/index.m3u8</c> live, <c>../../{r}/{id}.m3u8</c> recorded.</summary>
    private static string? RenditionOf(string uri, string? recording)
    {
        var parts = uri.Split('/');
        string? rendition = recording is null
            ? parts is [var r, "index.m3u8"] ? r : null
            : parts is ["..", "..", var rr, var name] && name == recording + ".m3u8" ? rr : null;
        return StoreKeys.IsValidName(rendition) && rendition is not "recordings" and not StoreKeys.ClipsFolder ? rendition : null;
    }

    private static string? BroadcastOf(StoredMediaPlaylist playlist, ClipCut cut)
    {
        var first = playlist.Segments.FirstOrDefault(s => !s.Gap && s.Start == cut.Start) ?? playlist.Segments.FirstOrDefault(s => !s.Gap);
        if (first is null || !ClipPlaylist.TryParseSegmentNumber(first.Uri, out _)) return null;
        string id = first.Uri[..first.Uri.LastIndexOf('-')];
        return StoreKeys.IsValidName(id) ? id : null;
    }

    private async Task PutAsync(string key, string text, List<string> written, CancellationToken cancellationToken)
    {
        written.Add(key);
        // While its ends wait to be cut to the frame the playlists change once more: a CDN keeps them seconds, not a day.
        string cache = finisher is null ? CachePolicies.Vod : ClipFinisher.PendingCache;
        await store.PutAsync(key, Encoding.UTF8.GetBytes(text), ContentTypes.Hls, cache, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<ReadOnlyMemory<byte>?> ReadDownloadAsync(string channelSlug, Clip clip, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(clip);
        return (await store.GetAsync(StoreKeys.ClipDownload(channelSlug, clip.Id), cancellationToken).ConfigureAwait(false))?.Data;
    }

    private Task<string?> ReadAsync(string key, CancellationToken cancellationToken) => ClipObjects.ReadTextAsync(store, key, cancellationToken);

    /// <summary>A stored playlist that cannot be read (damaged, or written by something else) refuses the clip, saying why.</summary>
    private static T Readable<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (MediaPlaylistFormatException e)
        {
            throw new ClipRangeException("from", "A stored playlist cannot be read: " + e.Message, conflict: true);
        }
    }

    private static string Iso(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
