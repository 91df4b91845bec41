using System.Text;
using System.Threading.Channels;
using Broadcast.Control.Clips;
using Broadcast.Media;
using Broadcast.Packager.Live;
using Broadcast.Packager.Manifests;
using Broadcast.Storage;
using Broadcast.Transcoder.Clips;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Server;

/// <summary>A new clip whose ends are to be cut to the frame: the range asked for, on the program date-time clock.</summary>
internal sealed record ClipEndsJob(string ChannelSlug, string ClipId, DateTimeOffset From, DateTimeOffset To);

/// <summary>Where the cuts run: the node's ffmpeg and a scratch folder.</summary>
internal sealed record ClipEndsSettings(string Ffmpeg, string WorkRoot);

/// <summary>
/// Cuts a clip's ends to the frame after it was made (issue #49). The clip is playable at once, segment-accurate; then,
/// one clip at a time on this node, the first and last stored segment of every rendition are cut by ffmpeg
/// (<see cref="SegmentTrim"/>, a few seconds of media each) into pieces stored in the clip's folder, its media
/// playlists rewritten around them (<see cref="ClipEndsPlaylist"/>) and its row given the exact range. A queue of
/// <see cref="QueueLength"/> bounds the work an admin can ask for; a clip that does not fit, whose codec cannot be cut
/// (AV1) or whose cut fails stays segment-accurate, and the log says why.
/// </summary>
internal sealed partial class ClipEndsCutter(ISegmentStore store, IClipRepository clips, ClipEndsSettings settings, ILogger<ClipEndsCutter> logger)
    : BackgroundService
{
    public const int QueueLength = 32;

    /// <summary>A clip's playlists until its ends are cut (or found not to be): they change once more, so edges keep them briefly.</summary>
    public const string PendingCache = "public, max-age=2";

    /// <summary>A cut shorter than this is no cut: the range already starts (ends) on the segment's boundary.</summary>
    private static readonly TimeSpan Boundary = TimeSpan.FromMilliseconds(1);

    private readonly Channel<ClipEndsJob> _jobs = Channel.CreateBounded<ClipEndsJob>(new BoundedChannelOptions(QueueLength)
    {
        FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true,
    });

    /// <summary>Queues a clip's cut; false (logged) when the queue is full.</summary>
    public bool TryQueue(ClipEndsJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (_jobs.Writer.TryWrite(job)) return true;
        LogQueueFull(job.ClipId, job.ChannelSlug, QueueLength);
        return false;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Directory.CreateDirectory(settings.WorkRoot);
        await foreach (var job in _jobs.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await CutAsync(job, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Whatever went wrong (ffmpeg, the store, a damaged playlist), the clip plays on segment-accurate and the
                // next one is cut.
                LogFailed(e, job.ClipId, job.ChannelSlug);
            }
        }
    }

    /// <summary>Cuts one clip's ends; true when its playlists now start and end on the range asked for.</summary>
    internal async Task<bool> CutAsync(ClipEndsJob job, CancellationToken cancellationToken)
    {
        string slug = job.ChannelSlug;
        string folder = StoreKeys.ClipFolder(slug, job.ClipId);
        if (await ReadAsync(StoreKeys.ClipMaster(slug, job.ClipId), cancellationToken).ConfigureAwait(false) is not { } master) return false;
        var codecs = ClipMasterCodecs.Read(master);
        var renditions = new List<(string Name, Codec Codec, StoredMediaPlaylist Playlist)>();
        foreach (var (name, codecString) in codecs)
        {
            if (await ReadAsync(StoreKeys.ClipMediaPlaylist(slug, job.ClipId, name), cancellationToken).ConfigureAwait(false) is not { } text)
                return false;
            var codec = CodecOf(codecString);
            if (!SegmentTrim.CanTrim(codec))
            {
                LogNotCut(job.ClipId, slug, $"rendition {name} is {codecString}, which is not cut to the frame");
                return false;
            }
            renditions.Add((name, codec, StoredMediaPlaylist.Parse(text)));
        }
        if (renditions.Count == 0 || renditions.Any(r => r.Playlist.Segments.Count == 0)) return false;

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

        var written = new List<(string Key, string Text)>();
        foreach (var (name, codec, playlist) in renditions)
        {
            var first = cutFirst ? await PieceAsync(slug, folder, name, codec, playlist.Segments[0], "first", job.From,
                single ? job.To : null, cancellationToken).ConfigureAwait(false) : null;
            var last = cutLast ? await PieceAsync(slug, folder, name, codec, playlist.Segments[^1], "last", playlist.Segments[^1].Start,
                job.To, cancellationToken).ConfigureAwait(false) : null;
            written.Add((StoreKeys.ClipMediaPlaylist(slug, job.ClipId, name), ClipEndsPlaylist.Write(playlist, first, last)));
        }
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

    /// <summary>Cuts <paramref name="segment"/> to [<paramref name="from"/>, <paramref name="to"/>) and stores the piece.</summary>
    private async Task<ClipPiece> PieceAsync(string slug, string folder, string rendition, Codec codec, StoredSegment segment, string end,
        DateTimeOffset from, DateTimeOffset? to, CancellationToken cancellationToken)
    {
        string initKey = KeyOf(slug, segment.MapUri) ?? throw new InvalidOperationException($"rendition {rendition} names no init segment");
        string segmentKey = KeyOf(slug, segment.Uri) ?? throw new InvalidOperationException($"rendition {rendition} names a segment elsewhere");
        var init = await store.GetAsync(initKey, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"{initKey} is not in the store");
        var media = await store.GetAsync(segmentKey, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"{segmentKey} is not in the store");
        var offset = from - segment.Start;
        var cut = await SegmentTrim.CutAsync(settings.Ffmpeg, init.Data, media.Data, codec, offset < TimeSpan.Zero ? TimeSpan.Zero : offset,
            to - segment.Start, settings.WorkRoot, cancellationToken).ConfigureAwait(false);
        string initName = $"{rendition}/{end}-init.mp4", pieceName = $"{rendition}/{end}.m4s";
        string type = codec == Codec.Aac ? ContentTypes.AudioMp4 : ContentTypes.VideoMp4;
        await store.PutAsync(folder + initName, cut.Init, type, CachePolicies.Immutable, cancellationToken).ConfigureAwait(false);
        await store.PutAsync(folder + pieceName, cut.Segment, type, CachePolicies.Immutable, cancellationToken).ConfigureAwait(false);
        return new ClipPiece(initName, pieceName, from, cut.Duration);
    }

    /// <summary>A clip playlist's URI of a stored object (<c>../../{rendition}/{name}</c>) as its store key; null for anything else.</summary>
    private static string? KeyOf(string slug, string? uri)
    {
        if (uri is null || !uri.StartsWith(StoreKeys.ClipToChannel, StringComparison.Ordinal)) return null;
        string key = $"{slug}/{uri[StoreKeys.ClipToChannel.Length..]}";
        return key.Split('/').Length == 3 && StoreKeys.IsValid(key, out _) ? key : null;
    }

    private static Codec CodecOf(string codecs) => codecs.Split('.')[0] switch
    {
        "avc1" or "avc3" => Codec.H264,
        "hvc1" or "hev1" => Codec.H265,
        "mp4a" => Codec.Aac,
        "av01" => Codec.Av1,
        _ => Codec.Unknown,
    };

    private async Task<string?> ReadAsync(string key, CancellationToken cancellationToken) =>
        await store.GetAsync(key, cancellationToken).ConfigureAwait(false) is { } o ? Encoding.UTF8.GetString(o.Data.Span) : null;

    [LoggerMessage(EventId = 9131, Level = LogLevel.Information, Message = "Clip {ClipId} of {Channel}: ends cut to the frame (first {First}, last {Last})")]
    private partial void LogCut(string clipId, string channel, bool first, bool last);

    [LoggerMessage(EventId = 9132, Level = LogLevel.Information, Message = "Clip {ClipId} of {Channel} stays segment-accurate: {Reason}")]
    private partial void LogNotCut(string clipId, string channel, string reason);

    [LoggerMessage(EventId = 9133, Level = LogLevel.Warning,
        Message = "Clip {ClipId} of {Channel} stays segment-accurate: {Queued} clips already wait for their ends to be cut on this node")]
    private partial void LogQueueFull(string clipId, string channel, int queued);

    [LoggerMessage(EventId = 9134, Level = LogLevel.Warning, Message = "Clip {ClipId} of {Channel} stays segment-accurate: cutting its ends failed")]
    private partial void LogFailed(Exception exception, string clipId, string channel);
}
