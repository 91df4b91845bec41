using System.Text;
using System.Threading.Channels;
using Broadcast.Control.Clips;
using Broadcast.Media;
using Broadcast.Packager.Cmaf;
using Broadcast.Packager.Live;
using Broadcast.Packager.Manifests;
using Broadcast.Storage;
using Broadcast.Transcoder.Clips;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Clips;

/// <summary>A new clip to finish: the range asked for, on the program date-time clock.</summary>
internal sealed record ClipFinishJob(string ChannelSlug, string ClipId, DateTimeOffset From, DateTimeOffset To);

/// <summary>Where the work runs: the node's ffmpeg and a scratch folder.</summary>
internal sealed record ClipFinishSettings(string Ffmpeg, string WorkRoot);

/// <summary>One rendition of a clip as it was made (segment-accurate): what its master says of it, and its media playlist.</summary>
internal sealed record MadeRendition(ClipMasterRendition Named, string Text, StoredMediaPlaylist Playlist)
{
    public bool IsAudio => Named.Codecs == "mp4a";

    public bool HasMedia => Playlist.Segments.Any(s => !s.Gap);
}

/// <summary>A clip's playlists as they were made (segment-accurate): its master and its renditions.</summary>
internal sealed record MadeClip(string Master, IReadOnlyList<MadeRendition> Renditions);

/// <summary>
/// Finishes a clip after it was made (issue #49), one clip at a time on this node. The clip is playable at once,
/// segment-accurate; then
/// <list type="bullet">
/// <item>its ends are cut to the frame: the first and last stored segment of every rendition are cut by ffmpeg
/// (<see cref="SegmentTrim"/>, a few seconds of media each) into pieces stored in the clip's folder, its media playlists
/// rewritten around them (<see cref="ClipEndsPlaylist"/>) and its row given the exact range;</item>
/// <item>its MP4 download is made from the stored segments of one video rendition and the audio (<see cref="ClipDownload"/>),
/// stored in the clip's folder and its size recorded on the row.</item>
/// </list>
/// A queue of <see cref="QueueLength"/> bounds the work an admin can ask for. A clip that does not fit stays
/// segment-accurate with no download; one whose codec cannot be cut (AV1) or whose cut fails stays segment-accurate;
/// the log says why. The row records when the finisher was done with a clip, so clips a stopped node had not finished
/// (queued, or under way) are finished when a node starts: those of the last <see cref="ResumeWithin"/>, oldest first.
/// In a cluster a node starting while another finishes the same clip writes the same objects again; each write is
/// atomic, so players see one or the other.
/// </summary>
internal sealed partial class ClipFinisher(
    ISegmentStore store, IClipRepository clips, ClipFinishSettings settings, TimeProvider time, ILogger<ClipFinisher> logger,
    Broadcast.Control.Webhooks.BroadcastWebhooks? webhooks = null, IContentKeyProvider? keys = null)
    : BackgroundService
{
    public const int QueueLength = 32;

    /// <summary>A clip's playlists until its ends are cut (or found not to be): they change once more, so edges keep them briefly.</summary>
    public const string PendingCache = "public, max-age=2";

    /// <summary>
    /// The largest download made for the top rendition: the store and the download route hold an object whole, so a
    /// long clip of a high rendition is made from a lower one (at 6 Mbit/s, 256 s of video).
    /// </summary>
    public const long MaxDownloadBytes = 192L * 1024 * 1024;

    /// <summary>How old an unfinished clip a starting node still finishes: a clip older than a day is used as it is.</summary>
    public static readonly TimeSpan ResumeWithin = TimeSpan.FromDays(1);

    /// <summary>A cut shorter than this is no cut: the range already starts (ends) on the segment's boundary.</summary>
    private static readonly TimeSpan Boundary = TimeSpan.FromMilliseconds(1);

    private readonly Channel<ClipFinishJob> _jobs = Channel.CreateBounded<ClipFinishJob>(new BoundedChannelOptions(QueueLength)
    {
        FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true,
    });

    /// <summary>Queues a clip to be finished; false (logged) when the queue is full.</summary>
    public bool TryQueue(ClipFinishJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (_jobs.Writer.TryWrite(job)) return true;
        LogQueueFull(job.ClipId, job.ChannelSlug, QueueLength);
        return false;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Directory.CreateDirectory(settings.WorkRoot);
        await ResumeAsync(stoppingToken).ConfigureAwait(false);
        await foreach (var job in _jobs.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                bool download = await FinishAsync(job, stoppingToken).ConfigureAwait(false);
                await clips.SetFinishedAsync(job.ClipId, time.GetUtcNow(), stoppingToken).ConfigureAwait(false);
                webhooks?.ClipReady(job.ChannelSlug, job.ClipId, job.From, job.To, download);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The row could not say it is finished: the next start finishes the clip again, which writes the same objects.
                LogNotRecordedFinished(e, job.ClipId, job.ChannelSlug);
            }
        }
    }

    /// <summary>Queues the clips no finisher was done with when the node before stopped (the queue's length at most).</summary>
    internal async Task<int> ResumeAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<(string ChannelSlug, Clip Clip)> unfinished;
        try
        {
            unfinished = await clips.ListUnfinishedAsync(time.GetUtcNow() - ResumeWithin, QueueLength, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            LogResumeFailed(e);
            return 0;
        }
        int queued = 0;
        foreach (var (slug, clip) in unfinished)
        {
            // Both done, only the row's last word missing.
            if (clip.FrameAccurate && clip.DownloadBytes is not null)
                await clips.SetFinishedAsync(clip.Id, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            else if (clip.Asked is { } asked && TryQueue(new ClipFinishJob(slug, clip.Id, asked.From, asked.To))) queued++;
        }
        if (queued > 0) LogResumed(queued);
        return queued;
    }

    /// <summary>
    /// Cuts the clip's ends, then makes its download, each from the playlists as the clip was made. Whatever goes wrong
    /// in one (ffmpeg, the store, a damaged playlist) is logged and leaves the clip playing as it is.
    /// </summary>
    internal async Task<bool> FinishAsync(ClipFinishJob job, CancellationToken cancellationToken)
    {
        MadeClip? clip;
        try
        {
            clip = await ReadMadeAsync(job, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            LogFailed(e, job.ClipId, job.ChannelSlug);
            return false;
        }
        if (clip is null) return false;
        try
        {
            await CutAsync(job, clip, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            LogFailed(e, job.ClipId, job.ChannelSlug);
        }
        try
        {
            return await DownloadAsync(job, clip, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            LogDownloadFailed(e, job.ClipId, job.ChannelSlug);
            return false;
        }
    }

    /// <summary>The clip's master and media playlists as stored; null when the clip's playlists are gone (it was deleted).</summary>
    internal async Task<MadeClip?> ReadMadeAsync(ClipFinishJob job, CancellationToken cancellationToken)
    {
        string slug = job.ChannelSlug;
        if (await ClipObjects.ReadTextAsync(store, StoreKeys.ClipMaster(slug, job.ClipId), cancellationToken).ConfigureAwait(false) is not { } master)
            return null;
        var renditions = new List<MadeRendition>();
        foreach (var named in ClipMasterRenditions.Read(master))
        {
            string name = named.Name;
            // Once cut, the playlist as made is kept beside the cut one: a node that stopped before it was done starts again from it.
            string? text = await ClipObjects.ReadTextAsync(store, StoreKeys.ClipStoredSegments(slug, job.ClipId, name), cancellationToken)
                .ConfigureAwait(false)
                ?? await ClipObjects.ReadTextAsync(store, StoreKeys.ClipMediaPlaylist(slug, job.ClipId, name), cancellationToken).ConfigureAwait(false);
            if (text is null) return null;
            renditions.Add(new MadeRendition(named, text, StoredMediaPlaylist.Parse(text)));
        }
        return renditions.Count == 0 ? null : new MadeClip(master, renditions);
    }

    /// <summary>Cuts one clip's ends; true when its playlists now start and end on the range asked for.</summary>
    internal async Task<bool> CutAsync(ClipFinishJob job, CancellationToken cancellationToken) =>
        await ReadMadeAsync(job, cancellationToken).ConfigureAwait(false) is { } clip && await CutAsync(job, clip, cancellationToken).ConfigureAwait(false);

    private async Task<bool> CutAsync(ClipFinishJob job, MadeClip clip, CancellationToken cancellationToken)
    {
        string slug = job.ChannelSlug;
        string folder = StoreKeys.ClipFolder(slug, job.ClipId);
        string master = clip.Master;
        var renditions = new List<(string Name, Codec Codec, StoredMediaPlaylist Playlist)>();
        foreach (var rendition in clip.Renditions)
        {
            var (name, codecString, _) = rendition.Named;
            var codec = CodecOf(codecString);
            if (!SegmentTrim.CanTrim(codec))
            {
                LogNotCut(job.ClipId, slug, $"rendition {name} is {codecString}, which is not cut to the frame");
                return false;
            }
            renditions.Add((name, codec, rendition.Playlist));
        }
        if (renditions.Any(r => r.Playlist.Segments.Count == 0)) return false;

        // The video leads (its segments start on keyframes); every rendition is cut at the same ends, so their
        // discontinuities stand at the same places.
        var lead = renditions.FirstOrDefault(r => r.Codec != Codec.Aac).Playlist ?? renditions[0].Playlist;
        var segments = lead.Segments;
        bool single = segments.Count == 1;
        bool cutFirst = !segments[0].Gap && job.From - segments[0].Start >= Boundary;
        bool cutLast = !segments[^1].Gap && segments[^1].End - job.To >= Boundary;
        if (single) (cutFirst, cutLast) = (cutFirst || cutLast, false);
        if (!cutFirst && !cutLast)
        {
            await clips.SetCutAsync(job.ClipId, job.From, job.To, cancellationToken).ConfigureAwait(false);
            return true;
        }

        var cutEnds = new List<(string Name, StoredMediaPlaylist Playlist, ClipPiece? First, ClipPiece? Last)>();
        var cipher = new ClipPieceCipher(keys, slug);
        var pieces = new List<string>();
        try
        {
            foreach (var (name, codec, playlist) in renditions)
            {
                var first = cutFirst ? await PieceAsync(cipher, (slug, folder, pieces), (name, codec), playlist.Segments[0], "first", job.From,
                    single ? job.To : null, cancellationToken).ConfigureAwait(false) : null;
                var last = cutLast ? await PieceAsync(cipher, (slug, folder, pieces), (name, codec), playlist.Segments[^1], "last",
                    playlist.Segments[^1].Start, job.To, cancellationToken).ConfigureAwait(false) : null;
                cutEnds.Add((name, playlist, first, last));
            }
        }
        catch
        {
            // A rendition whose end could not be cut (its key gone, ffmpeg failing) leaves no piece of the others behind.
            if (pieces.Count > 0) await store.DeleteAsync(pieces, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        // Every rendition lists the lead's span, wherever its own pieces start (Shaka ends them all there, #66).
        var leadEnds = cutEnds.First(c => ReferenceEquals(c.Playlist, lead));
        var span = ClipEndsPlaylist.Span(lead, leadEnds.First, leadEnds.Last);
        var written = cutEnds.Select(c => (Key: StoreKeys.ClipMediaPlaylist(slug, job.ClipId, c.Name),
            Text: ClipEndsPlaylist.Write(c.Playlist, c.First, c.Last, span))).ToList();
        foreach (var rendition in clip.Renditions)
            await store.PutAsync(StoreKeys.ClipStoredSegments(slug, job.ClipId, rendition.Named.Name), Encoding.UTF8.GetBytes(rendition.Text),
                ContentTypes.Hls, CachePolicies.Immutable, cancellationToken).ConfigureAwait(false);
        foreach (var (key, text) in written)
            await store.PutAsync(key, Encoding.UTF8.GetBytes(text), ContentTypes.Hls, CachePolicies.Vod, cancellationToken).ConfigureAwait(false);
        // The master's text stays; written again so edges may keep it as long as any VOD playlist from now on.
        await store.PutAsync(StoreKeys.ClipMaster(slug, job.ClipId), Encoding.UTF8.GetBytes(master), ContentTypes.Hls, CachePolicies.Vod,
            cancellationToken).ConfigureAwait(false);
        if (!await clips.SetCutAsync(job.ClipId, job.From, job.To, cancellationToken).ConfigureAwait(false))
        {
            // Deleted while it was being cut: what this wrote in its folder goes too.
            var left = new List<string>();
            await foreach (var key in store.ListAsync(folder, cancellationToken).ConfigureAwait(false)) left.Add(key);
            if (left.Count > 0) await store.DeleteAsync(left, CancellationToken.None).ConfigureAwait(false);
            return false;
        }
        LogCut(job.ClipId, slug, cutFirst, cutLast);
        return true;
    }

    /// <summary>
    /// Cuts <paramref name="segment"/> to [<paramref name="from"/>, <paramref name="to"/>) and stores the piece; a protected
    /// broadcast's segment decrypted for ffmpeg and its piece encrypted again with the same key (<see cref="ClipPieceCipher"/>).
    /// </summary>
    private async Task<ClipPiece> PieceAsync(ClipPieceCipher cipher, (string Slug, string Folder, List<string> Written) clip,
        (string Name, Codec Codec) track, StoredSegment segment, string end, DateTimeOffset from, DateTimeOffset? to, CancellationToken cancellationToken)
    {
        var (slug, folder, written) = clip;
        var (rendition, codec) = track;
        var init = await GetAsync(ClipObjects.KeyOf(slug, segment.MapUri), $"rendition {rendition}'s init segment", cancellationToken)
            .ConfigureAwait(false);
        var media = await GetAsync(ClipObjects.KeyOf(slug, segment.Uri), $"rendition {rendition}'s segment", cancellationToken).ConfigureAwait(false);
        var offset = from - segment.Start;
        if (offset < TimeSpan.Zero) offset = TimeSpan.Zero;
        var stored = await cipher.ClearAsync(init, media, segment, cancellationToken).ConfigureAwait(false);
        var cut = await SegmentTrim.CutAsync(settings.Ffmpeg, stored.Init, stored.Media, codec, offset, to - segment.Start, settings.WorkRoot,
            cancellationToken).ConfigureAwait(false);
        // ffmpeg times the piece from 0: put back on the stored segment's timeline, it joins its neighbours end to end (#66).
        var kind = codec == Codec.Aac ? MediaKind.Audio : MediaKind.Video;
        var (piece, key) = ClipPieceCipher.Protect(ClipPieceTimeline.Place(stored.Init, stored.Media, cut.Init, cut.Segment, kind, offset,
            to is null), stored, kind);
        string initName = $"{rendition}/{end}-init.mp4", pieceName = $"{rendition}/{end}.m4s";
        string type = codec == Codec.Aac ? ContentTypes.AudioMp4 : ContentTypes.VideoMp4;
        written.Add(folder + initName);
        await store.PutAsync(folder + initName, piece.Init, type, CachePolicies.Immutable, cancellationToken).ConfigureAwait(false);
        written.Add(folder + pieceName);
        await store.PutAsync(folder + pieceName, piece.Segment, type, CachePolicies.Immutable, cancellationToken).ConfigureAwait(false);
        return new ClipPiece(initName, pieceName, segment.Start + piece.Offset, piece.Length, key);
    }

    /// <summary>
    /// Makes the clip's MP4 from the stored segments it names (the range asked for, cut to the frame by the re-encode)
    /// and stores it in the clip's folder; true when its row records it.
    /// </summary>
    internal async Task<bool> DownloadAsync(ClipFinishJob job, MadeClip clip, CancellationToken cancellationToken)
    {
        string slug = job.ChannelSlug;
        // A protected broadcast's MP4 would be its media in the clear: one file anyone holding it plays, which a playback
        // token never entitled to (docs/protection.md). Its clip plays encrypted, with its key, and has no download.
        if (clip.Master.Contains("#EXT-X-SESSION-KEY:", StringComparison.Ordinal))
        {
            LogNoDownload(job.ClipId, slug, "its broadcast is protected, and an MP4 would be its media in the clear");
            return false;
        }
        var duration = job.To - job.From;
        var video = DownloadRendition(clip, duration);
        if (video is null)
        {
            LogNoDownload(job.ClipId, slug, "it has no video rendition");
            return false;
        }
        var audio = clip.Renditions.FirstOrDefault(r => r.IsAudio && r.HasMedia);
        string dir = Path.Combine(settings.WorkRoot, "download-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var videoInput = await WriteStoredAsync(slug, video.Playlist, job.From, Path.Combine(dir, "video.mp4"), cancellationToken)
                .ConfigureAwait(false);
            var audioInput = audio is null ? null
                : await WriteStoredAsync(slug, audio.Playlist, job.From, Path.Combine(dir, "audio.mp4"), cancellationToken).ConfigureAwait(false);
            string output = Path.Combine(dir, "clip.mp4");
            await ClipDownload.MakeAsync(settings.Ffmpeg, videoInput, audioInput, duration, video.Named.Bandwidth, output, cancellationToken)
                .ConfigureAwait(false);
            var mp4 = await File.ReadAllBytesAsync(output, cancellationToken).ConfigureAwait(false);
            string key = StoreKeys.ClipDownload(slug, job.ClipId);
            await store.PutAsync(key, mp4, ContentTypes.VideoMp4, CachePolicies.Immutable, cancellationToken).ConfigureAwait(false);
            if (!await clips.SetDownloadAsync(job.ClipId, mp4.Length, cancellationToken).ConfigureAwait(false))
            {
                // Deleted while it was made: the clip's folder was emptied before this wrote into it.
                await store.DeleteAsync([key], CancellationToken.None).ConfigureAwait(false);
                return false;
            }
            LogDownloadMade(job.ClipId, slug, video.Named.Name, mp4.Length);
            return true;
        }
        finally
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>
    /// The video rendition the download is made from: the highest bandwidth whose MP4 would stay within
    /// <see cref="MaxDownloadBytes"/> for this long a clip, else the lowest.
    /// </summary>
    private static MadeRendition? DownloadRendition(MadeClip clip, TimeSpan duration)
    {
        var videos = clip.Renditions.Where(r => !r.IsAudio && r.HasMedia).OrderByDescending(r => r.Named.Bandwidth ?? 0).ToList();
        if (videos.Count == 0) return null;
        return videos.FirstOrDefault(r => (r.Named.Bandwidth ?? 0) / 8.0 * duration.TotalSeconds <= MaxDownloadBytes) ?? videos[^1];
    }

    /// <summary>
    /// Writes a rendition's init segment and the stored segments its clip playlist names, in order, as one file, and
    /// where in it <paramref name="from"/> falls.
    /// </summary>
    private async Task<ClipDownloadInput> WriteStoredAsync(string slug, StoredMediaPlaylist playlist, DateTimeOffset from, string path,
        CancellationToken cancellationToken)
    {
        var segments = playlist.Segments.Where(s => !s.Gap).ToList();
        string? map = null;
        await using (var file = File.Create(path))
        {
            foreach (var segment in segments)
            {
                // One init segment: a stored broadcast's segments share it (a new one would be a new broadcast).
                if (map is null)
                {
                    map = segment.MapUri;
                    await file.WriteAsync(await GetAsync(ClipObjects.KeyOf(slug, map), "an init segment", cancellationToken).ConfigureAwait(false),
                        cancellationToken).ConfigureAwait(false);
                }
                else if (segment.MapUri != map) throw new InvalidOperationException("the clip's segments change init segment");
                await file.WriteAsync(await GetAsync(ClipObjects.KeyOf(slug, segment.Uri), "a segment", cancellationToken).ConfigureAwait(false),
                    cancellationToken).ConfigureAwait(false);
            }
        }
        var start = from - segments[0].Start;
        return new ClipDownloadInput(path, start < TimeSpan.Zero ? TimeSpan.Zero : start);
    }

    private async Task<ReadOnlyMemory<byte>> GetAsync(string? key, string what, CancellationToken cancellationToken) =>
        key is null ? throw new InvalidOperationException($"the clip names {what} outside the channel's renditions")
            : (await store.GetAsync(key, cancellationToken).ConfigureAwait(false))?.Data
                ?? throw new InvalidOperationException($"{key} is not in the store");

    private static Codec CodecOf(string codecs) => codecs.Split('.')[0] switch
    {
        "avc1" or "avc3" => Codec.H264,
        "hvc1" or "hev1" => Codec.H265,
        "mp4a" => Codec.Aac,
        "av01" => Codec.Av1,
        _ => Codec.Unknown,
    };

    [LoggerMessage(EventId = 9131, Level = LogLevel.Information, Message = "Clip {ClipId} of {Channel}: ends cut to the frame (first {First}, last {Last})")]
    private partial void LogCut(string clipId, string channel, bool first, bool last);

    [LoggerMessage(EventId = 9132, Level = LogLevel.Information, Message = "Clip {ClipId} of {Channel} stays segment-accurate: {Reason}")]
    private partial void LogNotCut(string clipId, string channel, string reason);

    [LoggerMessage(EventId = 9133, Level = LogLevel.Warning,
        Message = "Clip {ClipId} of {Channel} stays segment-accurate: {Queued} clips already wait for their ends to be cut on this node")]
    private partial void LogQueueFull(string clipId, string channel, int queued);

    [LoggerMessage(EventId = 9134, Level = LogLevel.Warning, Message = "Clip {ClipId} of {Channel} stays segment-accurate: cutting its ends failed")]
    private partial void LogFailed(Exception exception, string clipId, string channel);

    [LoggerMessage(EventId = 9138, Level = LogLevel.Information, Message = "{Count} clips a stopped node had not finished are queued again")]
    private partial void LogResumed(int count);

    [LoggerMessage(EventId = 9139, Level = LogLevel.Warning, Message = "The clips a stopped node had not finished could not be listed")]
    private partial void LogResumeFailed(Exception exception);

    [LoggerMessage(EventId = 9140, Level = LogLevel.Warning,
        Message = "Clip {ClipId} of {Channel}: its row could not record that it is finished; the next start finishes it again")]
    private partial void LogNotRecordedFinished(Exception exception, string clipId, string channel);

    [LoggerMessage(EventId = 9135, Level = LogLevel.Information,
        Message = "Clip {ClipId} of {Channel}: MP4 download made from rendition {Rendition} ({Bytes} bytes)")]
    private partial void LogDownloadMade(string clipId, string channel, string rendition, long bytes);

    [LoggerMessage(EventId = 9136, Level = LogLevel.Information, Message = "Clip {ClipId} of {Channel} has no MP4 download: {Reason}")]
    private partial void LogNoDownload(string clipId, string channel, string reason);

    [LoggerMessage(EventId = 9137, Level = LogLevel.Warning, Message = "Clip {ClipId} of {Channel} has no MP4 download: making it failed")]
    private partial void LogDownloadFailed(Exception exception, string clipId, string channel);
}
