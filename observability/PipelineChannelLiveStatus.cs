using System.Collections.Concurrent;
using Broadcast.Control.Channels;
using Broadcast.Media;
using Broadcast.Origin;
using Broadcast.Packager.Live;
using Broadcast.Packager.Manifests;
using Broadcast.Storage;
using Broadcast.Transcoder;

namespace Broadcast.Observability;

/// <summary>
/// Channel live status read from the pipeline: the live-stream hub, the packager, the origin's viewer count and the
/// players' own quality reports (CMCD).
/// After a publish ends, its final counters stay visible (with <see cref="ChannelLiveState.EndedAt"/>) until the
/// next publish, so an operator can check what the encoder delivered.
/// </summary>
internal sealed class PipelineChannelLiveStatus : IChannelLiveStatus
{
    private readonly LiveStreamRegistry _streams;
    private readonly IPackagerStatus? _packager;
    private readonly IViewerCounter? _viewers;
    private readonly ITranscoderStatus? _transcoder;
    private readonly IUploadBacklog? _backlog;
    private readonly IRewindPolicy? _rewind;
    private readonly Broadcast.Origin.Cmcd.CmcdAudience? _quality;
    private readonly bool _passthrough;
    private readonly ConcurrentDictionary<string, (LiveStream Stream, DateTimeOffset EndedAt)> _lastEnded = new(StringComparer.Ordinal);

    public PipelineChannelLiveStatus(LiveStreamRegistry streams, IPackagerStatus? packager = null, IViewerCounter? viewers = null,
        ITranscoderStatus? transcoder = null, IUploadBacklog? backlog = null, TranscodeOptions? transcodeOptions = null,
        IRewindPolicy? rewind = null, Broadcast.Origin.Cmcd.CmcdAudience? quality = null)
    {
        _quality = quality;
        _rewind = rewind;
        _passthrough = transcodeOptions?.Passthrough ?? true;
        _transcoder = transcoder;
        _backlog = backlog;
        _streams = streams;
        _packager = packager;
        _viewers = viewers;
        streams.Unpublished += stream => _lastEnded[stream.Name] = (stream, stream.TimeProvider.GetUtcNow());
    }

    public async ValueTask<ChannelLiveState> GetAsync(Channel channel, CancellationToken cancellationToken)
    {
        var state = await StateAsync(channel, cancellationToken).ConfigureAwait(false);
        return _quality?.Quality(channel.Slug) is { } q
            ? state with
            {
                Quality = new PlaybackQuality(q.Sessions, q.StalledSessions, q.Stalls, q.MedianStartupMs, q.MedianBufferMs, q.MeanBitrateKbps,
                    q.MedianThroughputKbps, q.RungSwitches),
            }
            : state;
    }

    private async ValueTask<ChannelLiveState> StateAsync(Channel channel, CancellationToken cancellationToken)
    {
        long? viewerCount = _viewers?.GetViewers(channel.Slug);
        var stream = _streams.Find(channel.Slug);
        if (stream is not null)
        {
            var state = Describe(stream, online: true, endedAt: null, viewerCount);
            // The broadcast's first moments, before its packaging started: the window it is about to take, so a viewer who
            // opens the watch page now gets the seek bar too (the same rule the packaging reads, in one place).
            if (state.RewindSeconds is null && _rewind is not null)
                state = state with { RewindSeconds = await _rewind.RewindSecondsAsync(stream, cancellationToken).ConfigureAwait(false) };
            return state;
        }
        return _lastEnded.TryGetValue(channel.Slug, out var ended)
            ? Describe(ended.Stream, online: false, ended.EndedAt, viewerCount)
            : ChannelLiveState.Offline with { Viewers = viewerCount };
    }

    private ChannelLiveState Describe(LiveStream stream, bool online, DateTimeOffset? endedAt, long? viewerCount)
    {
        var stats = stream.Statistics;
        var video = stream.Video;
        var audio = stream.Audio;
        var packaging = _packager?.Find(stream.Name);
        var transcoding = online ? _transcoder?.Find(stream.Name) : null;
        var renditions = new List<string>();
        // With passthrough off and a ladder running, the source itself is not served.
        if (video is not null && (_passthrough || transcoding is null)) renditions.Add("source");
        if (transcoding is not null) renditions.AddRange(transcoding.Renditions.Where(r => !renditions.Contains(r)));
        var encoderRungs = stream.EncoderRungs;
        renditions.AddRange(encoderRungs.Select(r => StoreKeys.EncoderTrackRendition(r.Key)));
        // The audio renditions (the default, then the encoder's other languages) under the names the packager gave them.
        if (packaging is { AudioRenditions.Count: > 0 }) renditions.AddRange(packaging.AudioRenditions);
        else if (audio is not null) renditions.Add(StoreKeys.AudioRendition);
        var warnings = new List<string>();
        if (packaging is not null) warnings.AddRange(packaging.Warnings);
        if (stream.PublisherRefusal is { } refusal) warnings.Add($"the encoder's connection was closed for what it sent: {refusal}");
        if (online && _backlog?.GetStatus() is { PendingObjects: > 0 } pending && !pending.StoreReachable)
        {
            warnings.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{(_backlog is WriteFallbackSegmentStore ? $"segment storage cannot write ({pending.LastError})" : "object storage unreachable")}: {pending.PendingObjects} objects ({pending.PendingBytes / (1024.0 * 1024.0):0.0} MB) waiting to upload" +
                $"{(pending.OldestPendingSince is { } since ? $" since {since:HH:mm:ss}Z" : "")}; viewers are served from this node's memory meanwhile"));
        }
        if (transcoding is not null)
        {
            warnings.AddRange(transcoding.Warnings);
            if (transcoding.Shed.Count > 0)
                warnings.Add($"the machine cannot keep up: renditions {string.Join(", ", transcoding.Shed)} were shed");
        }

        var reconnectDeadline = online ? stream.ReconnectDeadline : null;
        return new ChannelLiveState(online, stream.StartedAt, viewerCount)
        {
            EndedAt = endedAt,
            Reconnecting = reconnectDeadline is not null,
            ReconnectDeadline = reconnectDeadline,
            Video = VideoStatus(video),
            EncoderLadder = encoderRungs.Select(r => new EncoderRungStatus(r.Key, VideoStatus(r.Value.Video),
                r.Value.Statistics.BitsPerSecond, r.Value.Statistics.VideoFpsMilli / 1000.0)).ToArray(),
            Audio = audio is null ? null : new LiveAudioStatus(CodecName(audio.Codec), audio.CodecString, audio.SampleRate, audio.Channels),
            VideoFrames = stats.VideoFrames,
            AudioFrames = stats.AudioFrames,
            Bytes = stats.Bytes,
            Bitrate = stats.BitsPerSecond,
            Fps = stats.VideoFpsMilli / 1000.0,
            KeyframeIntervalMs = stats.KeyframeIntervalMs,
            FramesDroppedByReaders = stats.FramesDroppedByReaders,
            Renditions = renditions,
            SegmentsWritten = packaging?.SegmentsWritten ?? 0,
            RewindSeconds = packaging?.RewindSeconds,
            Recording = packaging?.Recording,
            KeptBytes = packaging?.KeptBytes ?? 0,
            EncoderBackend = transcoding?.Backend,
            TranscodeSpeed = transcoding?.Speed,
            Warnings = online ? warnings : Array.Empty<string>(),
        };
    }

    private static LiveVideoStatus? VideoStatus(VideoTrack? video) => video is null ? null : new LiveVideoStatus(
        CodecName(video.Codec), video.CodecString, video.Width, video.Height,
        video.FrameRate is { } fr ? Math.Round((double)fr.Numerator / fr.Denominator, 3) : null,
        video.Profile, video.Level);

    /// <summary>Codec names as ffprobe spells them, which is what operators compare against.</summary>
    internal static string CodecName(Codec codec) => codec switch
    {
        Codec.H264 => "h264",
        Codec.H265 => "hevc",
        Codec.Av1 => "av1",
        Codec.Aac => "aac",
        Codec.Mp3 => "mp3",
        Codec.Opus => "opus",
        _ => "unknown",
    };
}
