using Broadcast.Control.Channels;
using Broadcast.Media;
using Broadcast.Origin;
using Broadcast.Packager.Live;

namespace Broadcast.Server;

/// <summary>Channel live status read from the pipeline: the live-stream hub, the packager and the origin's viewer count.</summary>
internal sealed class PipelineChannelLiveStatus(
    LiveStreamRegistry streams,
    IPackagerStatus? packager = null,
    IViewerCounter? viewers = null) : IChannelLiveStatus
{
    public ValueTask<ChannelLiveState> GetAsync(Channel channel, CancellationToken cancellationToken)
    {
        long? viewerCount = viewers?.GetViewers(channel.Slug);
        var stream = streams.Find(channel.Slug);
        if (stream is null) return ValueTask.FromResult(ChannelLiveState.Offline with { Viewers = viewerCount });

        var stats = stream.Statistics;
        var video = stream.Video;
        var audio = stream.Audio;
        var packaging = packager?.Find(channel.Slug);
        var renditions = new List<string>(2);
        if (video is not null) renditions.Add("source");
        if (audio is not null) renditions.Add("audio");
        var warnings = new List<string>();
        if (packaging is not null) warnings.AddRange(packaging.Warnings);

        return ValueTask.FromResult(new ChannelLiveState(true, stream.StartedAt, viewerCount)
        {
            Video = video is null ? null : new LiveVideoStatus(
                CodecName(video.Codec), video.CodecString, video.Width, video.Height,
                video.FrameRate is { } fr ? Math.Round((double)fr.Numerator / fr.Denominator, 3) : null,
                video.Profile, video.Level),
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
            Warnings = warnings,
        });
    }

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
