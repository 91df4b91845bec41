using System.Buffers;
using System.Globalization;
using Broadcast.Compositor.Layouts;
using Broadcast.Media;
using Broadcast.Media.Flv;
using Broadcast.Processes;
using Microsoft.Extensions.Logging;

namespace Broadcast.Compositor.Inputs;

/// <summary>
/// One program input that is another channel: its hub's frames as FLV into a supervised ffmpeg that decodes them to
/// raw <c>yuv420p</c> at a fixed size, at most one picture per program frame (stdout) and to 48 kHz stereo <c>f32le</c> (a
/// loopback TCP connection to a listener of ours). The newest picture waits in <see cref="Video"/>, the samples in
/// <see cref="Audio"/>. When the channel's stream ends or ffmpeg dies the input is missing (the program draws its
/// placeholder); when the channel publishes again it is decoded again.
/// </summary>
/// <remarks>
/// Audio leaves ffmpeg on TCP rather than a FIFO: the listener is bound once to 127.0.0.1:0 (no path to create or
/// clean up, no libc P/Invoke), each ffmpeg attempt connects to it afresh, and a dead ffmpeg shows as the end of its
/// connection. The hub is never blocked: its reader drops (and resyncs at a keyframe) if ffmpeg falls behind.
/// </remarks>
public sealed partial class ChannelInputDecoder : InputDecoder
{
    private readonly LiveStreamRegistry _registry;
    private readonly ILogger _logger;

    public ChannelInputDecoder(string inputId, string channel, LiveStreamRegistry registry, InputDecoderOptions options, ILogger logger,
        TimeProvider? time = null)
        : base(inputId, options, logger, time)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        Channel = channel;
        _registry = registry ?? throw new ArgumentNullException(nameof(registry));
        _logger = logger;
    }

    public string Channel { get; }

    /// <summary>The hub the channel's stream is read from: the node's channels, or the program host's feeds.</summary>
    public LiveStreamRegistry Hub => _registry;

    protected override async Task<RunVerdict> RunOnceAsync(CancellationToken cancellationToken)
    {
        LiveStream stream;
        try { stream = await _registry.WaitForLiveAsync(Channel, cancellationToken).ConfigureAwait(false); }
        catch (OperationCanceledException) { return RunVerdict.Stop; }
        // The channel ended (or its publisher dropped): wait for it to publish again, no backoff needed.
        return await RunVerdict.OfAttemptAsync(async token =>
        {
            try
            {
                string reason = await DecodeAsync(stream, token).ConfigureAwait(false);
                LogMissing(InputId, Channel, reason);
                return reason;
            }
            finally
            {
                MarkMissing();
            }
        }, Time, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One ffmpeg run: "" when the channel's stream ended, else why ffmpeg failed.</summary>
    private async Task<string> DecodeAsync(LiveStream stream, CancellationToken cancellationToken)
    {
        using var reader = stream.OpenReader($"compositor-{InputId}", capacity: 256);
        MediaFrame? first = null;
        long? soundSince = null;
        // The first picture's track gives the size to decode at; frames before it cannot be decoded anyway. Sound that
        // flows for a while with no video track declared is a source of sound alone (a music bed).
        while (first is null)
        {
            var read = await reader.ReadOrGapAsync(cancellationToken).ConfigureAwait(false);
            if (read.Frame is not { } frame) return "";
            if (frame.Track is VideoTrack && frame.IsKeyframe) first = frame;
            else if (frame.Kind == MediaKind.Audio && stream.Video is null
                && Time.GetElapsedTime(soundSince ??= Time.GetTimestamp()) >= Options.AudioOnlyWait)
            {
                return await DecodeSoundAsync(reader, frame, cancellationToken).ConfigureAwait(false);
            }
            else frame.Release();
        }
        var video = (VideoTrack)first.Track;
        var size = FitWithin(new PixelSize(video.Width, video.Height), Options.Canvas);
        // A publisher's audio header may follow its first picture: give it a moment (frames wait in the reader meanwhile),
        // since ffmpeg's outputs are fixed when it starts.
        long waitingSince = Time.GetTimestamp();
        while (stream.Audio is null && Time.GetElapsedTime(waitingSince) < Options.AudioHeaderWait)
            await Task.Delay(TimeSpan.FromMilliseconds(20), Time, cancellationToken).ConfigureAwait(false);
        bool hasAudio = stream.Audio is not null;
        var latest = UseSize(size);
        CountAttempt();
        await using var process = SupervisedProcess.Start(new ProcessLaunch(Options.FfmpegPath, Arguments(size, hasAudio)));
        LogStarted(InputId, Channel, process.Id, size.Width, size.Height, hasAudio);
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pictures = ReadPicturesAsync(process.Stdout, latest, attempt.Token);
        var samples = hasAudio ? ReadSamplesAsync(attempt.Token) : Task.CompletedTask;
        var pump = PumpAsync(reader, first, process.Stdin, hasAudio, hasVideo: true, attempt.Token);
        var ended = await Task.WhenAny(pump, pictures, process.Exited).ConfigureAwait(false);
        bool sourceEnded = ended == pump && await pump.ConfigureAwait(false);
        await attempt.CancelAsync().ConfigureAwait(false);
        MarkMissing();
        await process.StopAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        await Task.WhenAll(pictures, samples).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        if (sourceEnded) return "";
        var tail = process.StderrTail;
        return process.HasExited ? $"ffmpeg exited {process.ExitCode}: {(tail.Count > 0 ? tail[^1] : "")}" : "ffmpeg stopped delivering pictures";
    }

    /// <summary>One ffmpeg run for a channel of sound alone: "" when it ended (or a picture began: decoded again with it),
    /// else why ffmpeg failed.</summary>
    private async Task<string> DecodeSoundAsync(LiveStreamReader reader, MediaFrame first, CancellationToken cancellationToken)
    {
        UseNoPicture();
        CountAttempt();
        await using var process = SupervisedProcess.Start(new ProcessLaunch(Options.FfmpegPath,
            ["-hide_banner", "-nostdin", "-loglevel", "warning", "-fflags", "nobuffer", "-flags", "low_delay", "-f", "flv", "-i", "pipe:0",
                .. AudioOutputArguments()]));
        LogStartedSound(InputId, Channel, process.Id);
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var samples = ReadSamplesAsync(attempt.Token);
        var pump = PumpAsync(reader, first, process.Stdin, hasAudio: true, hasVideo: false, attempt.Token);
        MarkPresent();
        var ended = await Task.WhenAny(pump, samples, process.Exited).ConfigureAwait(false);
        bool sourceEnded = ended == pump && await pump.ConfigureAwait(false);
        await attempt.CancelAsync().ConfigureAwait(false);
        MarkMissing();
        await process.StopAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        await samples.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        if (sourceEnded) return "";
        var tail = process.StderrTail;
        return process.HasExited ? $"ffmpeg exited {process.ExitCode}: {(tail.Count > 0 ? tail[^1] : "")}" : "ffmpeg stopped delivering sound";
    }

    private List<string> Arguments(PixelSize size, bool hasAudio)
    {
        var args = new List<string>
        {
            "-hide_banner", "-nostdin", "-loglevel", "warning",
            "-fflags", "nobuffer", "-flags", "low_delay", "-f", "flv", "-i", "pipe:0",
            "-map", "0:v:0", "-vf", string.Create(CultureInfo.InvariantCulture,
                $"{FrameSelectFilter(Options.Clock)},scale={size.Width}:{size.Height}:flags=bilinear"),
            // The selected pictures as they come: rawvideo's default (constant rate at the input's) would repeat them.
            "-fps_mode", "passthrough", "-pix_fmt", "yuv420p", "-f", "rawvideo", "pipe:1",
        };
        if (hasAudio) args.AddRange(AudioOutputArguments());
        return args;
    }

    /// <summary>
    /// The hub's frames as FLV into ffmpeg: true when the stream ended (or its publisher dropped, or sound or a picture
    /// started on a channel decoded without: ffmpeg must start again with that output), false when ffmpeg went away.
    /// </summary>
    private static async Task<bool> PumpAsync(LiveStreamReader reader, MediaFrame first, Stream stdin, bool hasAudio, bool hasVideo,
        CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(256 * 1024);
        var muxer = new FlvMuxer();
        FlvMuxer.WriteHeader(buffer, hasAudio, hasVideo);
        int epoch = first.Epoch;
        var frame = first;
        try
        {
            while (true)
            {
                try { muxer.Write(buffer, frame); }
                finally { frame.Release(); }
                await stdin.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
                buffer.ResetWrittenCount();
                await stdin.FlushAsync(cancellationToken).ConfigureAwait(false);
                var read = await reader.ReadOrGapAsync(cancellationToken).ConfigureAwait(false);
                if (read.Frame is not { } next) return true;
                if (next.Epoch != epoch || (!hasAudio && next.Kind == MediaKind.Audio) || (!hasVideo && next.Kind == MediaKind.Video))
                {
                    // A new publish this reader did not see end (it fell behind): its timestamps start again.
                    // Or sound (or a picture) this ffmpeg has no output for.
                    next.Release();
                    return true;
                }
                frame = next;
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            return false;
        }
    }

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information,
        Message = "Input {InputId}: decoding channel {Channel} (ffmpeg {Pid}) at {Width}x{Height}, audio {HasAudio}")]
    private partial void LogStarted(string inputId, string channel, int pid, int width, int height, bool hasAudio);

    [LoggerMessage(EventId = 6008, Level = LogLevel.Information,
        Message = "Input {InputId}: decoding channel {Channel} (ffmpeg {Pid}) as sound alone: no video track")]
    private partial void LogStartedSound(string inputId, string channel, int pid);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Information, Message = "Input {InputId}: channel {Channel} is missing ({Reason})")]
    private partial void LogMissing(string inputId, string channel, string reason);
}
