using System.Buffers;
using System.Globalization;
using Broadcast.Media;
using Broadcast.Media.Flv;
using Broadcast.Processes;
using Microsoft.Extensions.Logging;

namespace Broadcast.WebRtc.Rtp;

/// <summary>
/// A live channel as RTP for its WebRTC viewers: one supervised ffmpeg reads the channel's hub as FLV and writes H.264
/// (passed through when <see cref="WebRtcVideoPolicy"/> allows, else the WebRTC rung: x264 baseline, zerolatency, no
/// B-frames, a keyframe every <see cref="WhepOptions.ReencodeKeyframeInterval"/>) and Opus (always encoded, once per
/// channel) to <see cref="Fanout"/>, which copies each packet to every viewer. Runs while the channel has viewers;
/// when the channel's publish ends it waits for the next one (viewers stay connected and see it when it comes).
/// </summary>
public sealed partial class ChannelRtpSource : IAsyncDisposable
{
    private readonly LiveStreamRegistry _registry;
    private readonly WhepOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource<WebRtcVideoMode> _mode = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _loop = Task.CompletedTask;

    public ChannelRtpSource(string channel, LiveStreamRegistry registry, WhepOptions options, ILogger logger, TimeProvider? time = null)
    {
        Channel = channel;
        _registry = registry;
        _options = options;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        Fanout = new RtpFanout(channel);
    }

    public string Channel { get; }

    public RtpFanout Fanout { get; }

    public void Start()
    {
        // The source outlives the WHEP request that started it: none of the request's context (log scope) goes with it.
        using (ExecutionContext.SuppressFlow())
        {
            _loop = Task.Run(() => RestartLoop.RunAsync(RunOnceAsync, new RestartBackoff(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10)),
                (wait, verdict) => LogRestart(Channel, wait.TotalMilliseconds, verdict.Reason ?? ""), _time, _stop.Token), CancellationToken.None);
        }
    }

    /// <summary>How the current (or next) publish's video is sent, once its first frames were seen.</summary>
    public Task<WebRtcVideoMode> WaitForModeAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        Volatile.Read(ref _mode).Task.WaitAsync(timeout, cancellationToken);

    private async Task<RunVerdict> RunOnceAsync(CancellationToken cancellationToken)
    {
        LiveStream stream;
        try { stream = await _registry.WaitForLiveAsync(Channel, cancellationToken).ConfigureAwait(false); }
        catch (OperationCanceledException) { return RunVerdict.Stop; }
        return await RunVerdict.OfAttemptAsync(token => RunAsync(stream, token), _time, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One ffmpeg run: "" when the channel's publish ended, else why ffmpeg failed.</summary>
    private async Task<string> RunAsync(LiveStream stream, CancellationToken cancellationToken)
    {
        using var reader = stream.OpenReader($"whep-{Channel}", capacity: 512);
        // From the first keyframe on, a few frames are held to see whether the source has B-frames.
        var held = new List<MediaFrame>();
        try
        {
            VideoTrack? video = null;
            int videoFrames = 0;
            while (videoFrames < WebRtcVideoPolicy.FramesToInspect)
            {
                var read = await reader.ReadOrGapAsync(cancellationToken).ConfigureAwait(false);
                if (read.Frame is not { } frame)
                {
                    if (read.IsEnd) return "";
                    continue;
                }

                if (video is null && !(frame.Track is VideoTrack && frame.IsKeyframe))
                {
                    frame.Release();
                    continue;
                }

                if (frame.Track is VideoTrack track)
                {
                    video ??= track;
                    videoFrames++;
                }

                held.Add(frame);
            }

            var mode = WebRtcVideoPolicy.Decide(video!, held.Where(f => f.Kind == MediaKind.Video));
            bool hasAudio = stream.Audio is not null;
            var modeSource = Volatile.Read(ref _mode);
            if (modeSource.Task.IsCompleted && modeSource.Task.Result != mode)
                Volatile.Write(ref _mode, modeSource = new TaskCompletionSource<WebRtcVideoMode>(TaskCreationOptions.RunContinuationsAsynchronously));
            modeSource.TrySetResult(mode);

            await using var process = SupervisedProcess.Start(new ProcessLaunch(_options.FfmpegPath, Arguments(mode, hasAudio, Fanout.Port)));
            LogStarted(Channel, process.Id, mode.PassThrough ? "passthrough" : "re-encode", mode.Reason, hasAudio);
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var pump = PumpAsync(reader, held, process.Stdin, hasAudio, attempt.Token);
            var ended = await Task.WhenAny(pump, process.Exited).ConfigureAwait(false);
            bool sourceEnded = ended == pump && await pump.ConfigureAwait(false);
            await attempt.CancelAsync().ConfigureAwait(false);
            await process.StopAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            if (sourceEnded) return "";
            var tail = process.StderrTail;
            return process.HasExited ? $"ffmpeg exited {process.ExitCode}: {(tail.Count > 0 ? tail[^1] : "")}" : "ffmpeg stopped reading";
        }
        finally
        {
            foreach (var frame in held) frame.Release();
        }
    }

    internal List<string> Arguments(WebRtcVideoMode mode, bool hasAudio, int port)
    {
        var inv = CultureInfo.InvariantCulture;
        // RTCP goes to the same port and is skipped there (RFC 5761); 1200-byte packets leave room for SRTP and TURN headers.
        string output = string.Create(inv, $"rtp://127.0.0.1:{port}?rtcpport={port}&pkt_size=1200");
        var args = new List<string>
        {
            "-hide_banner", "-nostdin", "-loglevel", "warning",
            // The hub's cached GOP arrives at once, keyframe first: stream information from its first 0.2 s (by default
            // ffmpeg reads about a second of input first), and no -fflags nobuffer, which drops the packets read for that
            // analysis, the keyframe with them, so the first picture waited for the source's next keyframe.
            "-flags", "low_delay", "-analyzeduration", "200000", "-f", "flv", "-i", "pipe:0",
            "-map", "0:v:0",
        };
        if (mode.PassThrough)
        {
            // FLV carries the parameter sets out of band (avcC); browsers need them in band before every keyframe.
            args.AddRange(["-c:v", "copy", "-bsf:v", "h264_mp4toannexb"]);
        }
        else
        {
            string bitrate = _options.ReencodeBitrate.ToString(inv);
            string keyframes = string.Create(inv, $"expr:gte(t,n_forced*{_options.ReencodeKeyframeInterval.TotalSeconds:0.###})");
            args.AddRange(["-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-profile:v", "baseline", "-pix_fmt", "yuv420p",
                "-bf", "0", "-force_key_frames", keyframes, "-sc_threshold", "0",
                "-b:v", bitrate, "-maxrate", bitrate, "-bufsize", (_options.ReencodeBitrate / 2).ToString(inv)]);
        }

        args.AddRange(["-f", "rtp", "-payload_type", RtpFanout.VideoPayloadType.ToString(inv), output]);
        if (hasAudio)
        {
            args.AddRange(["-map", "0:a:0", "-c:a", "libopus", "-b:a", _options.OpusBitrate.ToString(inv), "-ar", "48000", "-ac", "2",
                "-application", "lowdelay", "-frame_duration", "20",
                "-f", "rtp", "-payload_type", RtpFanout.AudioPayloadType.ToString(inv), output]);
        }

        return args;
    }

    /// <summary>The held frames, then the hub's, as FLV into ffmpeg: true when the publish ended, false when ffmpeg went away.</summary>
    private static async Task<bool> PumpAsync(LiveStreamReader reader, List<MediaFrame> held, Stream stdin, bool hasAudio,
        CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(256 * 1024);
        var muxer = new FlvMuxer();
        FlvMuxer.WriteHeader(buffer, hasAudio, hasVideo: true);
        int epoch = held[0].Epoch;
        try
        {
            foreach (var frame in held)
            {
                if (hasAudio || frame.Kind == MediaKind.Video) muxer.Write(buffer, frame);
            }

            await stdin.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
            buffer.ResetWrittenCount();
            while (true)
            {
                var read = await reader.ReadOrGapAsync(cancellationToken).ConfigureAwait(false);
                if (read.IsGap) continue;
                if (read.Frame is not { } frame) return true;
                try
                {
                    // A new publish (its timestamps start again) or sound this ffmpeg has no output for: start afresh.
                    if (frame.Epoch != epoch || (!hasAudio && frame.Kind == MediaKind.Audio)) return true;
                    muxer.Write(buffer, frame);
                }
                finally
                {
                    frame.Release();
                }

                await stdin.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
                buffer.ResetWrittenCount();
                await stdin.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try { await _loop.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        Fanout.Dispose();
        _stop.Dispose();
    }

    [LoggerMessage(EventId = 8101, Level = LogLevel.Information,
        Message = "WebRTC {Channel}: ffmpeg {Pid} sends RTP ({Mode}: {Reason}), audio {HasAudio}")]
    private partial void LogStarted(string channel, int pid, string mode, string reason, bool hasAudio);

    [LoggerMessage(EventId = 8102, Level = LogLevel.Warning, Message = "WebRTC {Channel}: RTP ffmpeg restarts in {WaitMs} ms after: {Reason}")]
    private partial void LogRestart(string channel, double waitMs, string reason);
}
