using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Broadcast.Compositor.Audio;
using Broadcast.Compositor.Layouts;
using Broadcast.Media;
using Broadcast.Media.Flv;
using Broadcast.Processes;
using Microsoft.Extensions.Logging;

namespace Broadcast.Compositor.Inputs;

/// <summary>How an input decoder runs its ffmpeg.</summary>
/// <param name="Canvas">The program canvas: pictures are scaled to fit it (aspect kept, no padding).</param>
/// <param name="Clock">The program frame rate: the decoder delivers pictures at it.</param>
public sealed record InputDecoderOptions(string FfmpegPath, PixelSize Canvas, ProgramClock Clock)
{
    public RestartBackoff Backoff { get; init; } = new(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10));

    /// <summary>How long after a channel's first picture its audio header may come and still be decoded from the start.</summary>
    public TimeSpan AudioHeaderWait { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a started ffmpeg may take to connect its audio output.</summary>
    public TimeSpan AudioConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// One program input that is another channel: its hub's frames as FLV into a supervised ffmpeg that decodes them to
/// raw <c>yuv420p</c> at a fixed size and the program frame rate (stdout) and to 48 kHz stereo <c>f32le</c> (a
/// loopback TCP connection to a listener of ours). The newest picture waits in <see cref="Video"/>, the samples in
/// <see cref="Audio"/>. When the channel's stream ends or ffmpeg dies the input is missing (the program draws its
/// placeholder); when the channel publishes again it is decoded again.
/// </summary>
/// <remarks>
/// Audio leaves ffmpeg on TCP rather than a FIFO: the listener is bound once to 127.0.0.1:0 (no path to create or
/// clean up, no libc P/Invoke), each ffmpeg attempt connects to it afresh, and a dead ffmpeg shows as the end of its
/// connection. The hub is never blocked: its reader drops (and resyncs at a keyframe) if ffmpeg falls behind.
/// </remarks>
public sealed partial class ChannelInputDecoder : IAsyncDisposable
{
    private readonly LiveStreamRegistry _registry;
    private readonly InputDecoderOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly TcpListener _audioListener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private volatile LatestFrame? _video;
    private volatile bool _present;
    private int _attempts;

    public ChannelInputDecoder(string inputId, string channel, LiveStreamRegistry registry, InputDecoderOptions options, ILogger logger, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(inputId);
        ArgumentException.ThrowIfNullOrEmpty(channel);
        InputId = inputId;
        Channel = channel;
        _registry = registry ?? throw new ArgumentNullException(nameof(registry));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _time = time ?? TimeProvider.System;
    }

    public string InputId { get; }

    public string Channel { get; }

    /// <summary>True while ffmpeg delivers this input's pictures; false before the first and after the stream or ffmpeg ended.</summary>
    public bool IsPresent => _present;

    /// <summary>The newest picture (its size is the one this attempt decodes at), or null before the first attempt.</summary>
    public LatestFrame? Video => _video;

    public AudioRing Audio { get; } = new();

    /// <summary>ffmpeg runs started so far.</summary>
    public int Attempts => Volatile.Read(ref _attempts);

    public void Start()
    {
        _audioListener.Start();
        _loop = RestartLoop.RunAsync(RunOnceAsync, _options.Backoff, (wait, verdict) => LogRestart(InputId, wait.TotalMilliseconds, verdict.Reason ?? ""), _time, _stop.Token);
    }

    /// <summary>The picture size for a source of <paramref name="source"/>: the largest even size within the canvas with the source's aspect.</summary>
    public static PixelSize FitWithin(PixelSize source, PixelSize canvas)
    {
        if (source.Width <= 0 || source.Height <= 0) return canvas;
        long width = canvas.Width, height = (long)source.Height * canvas.Width / source.Width;
        if (height > canvas.Height)
        {
            height = canvas.Height;
            width = (long)source.Width * canvas.Height / source.Height;
        }
        return new PixelSize(Math.Max(2, (int)width & ~1), Math.Max(2, (int)height & ~1));
    }

    private async Task<RunVerdict> RunOnceAsync(CancellationToken cancellationToken)
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
                _present = false;
                Audio.Clear();
            }
        }, _time, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One ffmpeg run: "" when the channel's stream ended, else why ffmpeg failed.</summary>
    private async Task<string> DecodeAsync(LiveStream stream, CancellationToken cancellationToken)
    {
        using var reader = stream.OpenReader($"compositor-{InputId}", capacity: 256);
        MediaFrame? first = null;
        // The first picture's track gives the size to decode at; frames before it cannot be decoded anyway.
        while (first is null)
        {
            var read = await reader.ReadOrGapAsync(cancellationToken).ConfigureAwait(false);
            if (read.Frame is not { } frame) return "";
            if (frame.Track is VideoTrack && frame.IsKeyframe) first = frame;
            else frame.Release();
        }
        var video = (VideoTrack)first.Track;
        var size = FitWithin(new PixelSize(video.Width, video.Height), _options.Canvas);
        // A publisher's audio header may follow its first picture: give it a moment (frames wait in the reader meanwhile),
        // since ffmpeg's outputs are fixed when it starts.
        long waitingSince = _time.GetTimestamp();
        while (stream.Audio is null && _time.GetElapsedTime(waitingSince) < _options.AudioHeaderWait)
            await Task.Delay(TimeSpan.FromMilliseconds(20), _time, cancellationToken).ConfigureAwait(false);
        bool hasAudio = stream.Audio is not null;
        var latest = _video is { } current && current.Size == size ? current : new LatestFrame(size);
        _video = latest;
        Interlocked.Increment(ref _attempts);
        await using var process = SupervisedProcess.Start(new ProcessLaunch(_options.FfmpegPath, Arguments(size, hasAudio)));
        LogStarted(InputId, Channel, process.Id, size.Width, size.Height, hasAudio);
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pictures = Task.Factory.StartNew(() => ReadPictures(process.Stdout, latest), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var samples = hasAudio ? ReadSamplesAsync(attempt.Token) : Task.CompletedTask;
        var pump = PumpAsync(reader, first, process.Stdin, hasAudio, attempt.Token);
        var ended = await Task.WhenAny(pump, pictures, process.Exited).ConfigureAwait(false);
        bool sourceEnded = ended == pump && await pump.ConfigureAwait(false);
        await attempt.CancelAsync().ConfigureAwait(false);
        _present = false;
        await process.StopAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        await Task.WhenAll(pictures, samples).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        if (sourceEnded) return "";
        var tail = process.StderrTail;
        return process.HasExited ? $"ffmpeg exited {process.ExitCode}: {(tail.Count > 0 ? tail[^1] : "")}" : "ffmpeg stopped delivering pictures";
    }

    private List<string> Arguments(PixelSize size, bool hasAudio)
    {
        string fps = string.Create(CultureInfo.InvariantCulture, $"{_options.Clock.RateNumerator}/{_options.Clock.RateDenominator}");
        var args = new List<string>
        {
            "-hide_banner", "-nostdin", "-loglevel", "warning",
            "-fflags", "nobuffer", "-flags", "low_delay", "-f", "flv", "-i", "pipe:0",
            "-map", "0:v:0", "-vf", string.Create(CultureInfo.InvariantCulture, $"fps={fps},scale={size.Width}:{size.Height}:flags=bilinear"),
            "-pix_fmt", "yuv420p", "-f", "rawvideo", "pipe:1",
        };
        if (hasAudio)
        {
            int port = ((IPEndPoint)_audioListener.LocalEndpoint).Port;
            args.AddRange(["-map", "0:a:0", "-ac", "2", "-ar", "48000", "-f", "f32le",
                string.Create(CultureInfo.InvariantCulture, $"tcp://127.0.0.1:{port}")]);
        }
        return args;
    }

    /// <summary>
    /// The hub's frames as FLV into ffmpeg: true when the stream ended (or its publisher dropped, or sound started on a
    /// channel decoded without: ffmpeg must start again with an audio output), false when ffmpeg went away.
    /// </summary>
    private static async Task<bool> PumpAsync(LiveStreamReader reader, MediaFrame first, Stream stdin, bool hasAudio, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(256 * 1024);
        var muxer = new FlvMuxer();
        FlvMuxer.WriteHeader(buffer, hasAudio, hasVideo: true);
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
                if (next.Epoch != epoch || (!hasAudio && next.Kind == MediaKind.Audio))
                {
                    // A new publish this reader did not see end (it fell behind): its timestamps start again.
                    // Or sound this ffmpeg has no output for.
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

    /// <summary>Blocking reads of whole pictures on a thread of its own, each published as the newest.</summary>
    private void ReadPictures(Stream stdout, LatestFrame latest)
    {
        try
        {
            while (true)
            {
                var frame = latest.Writing;
                if (!ReadFully(stdout, frame.Y) || !ReadFully(stdout, frame.U) || !ReadFully(stdout, frame.V)) return;
                latest.Publish();
                _present = true;
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
        }
    }

    private static bool ReadFully(Stream stream, Span<byte> into)
    {
        while (!into.IsEmpty)
        {
            int n = stream.Read(into);
            if (n == 0) return false;
            into = into[n..];
        }
        return true;
    }

    private async Task ReadSamplesAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.AudioConnectTimeout);
        Socket socket;
        try { socket = await _audioListener.AcceptSocketAsync(timeout.Token).ConfigureAwait(false); }
        catch (OperationCanceledException)
        {
            if (!cancellationToken.IsCancellationRequested) LogNoAudio(InputId);
            return;
        }
        using (socket)
        {
            var bytes = new byte[ProgramAudio.BlockFrames * ProgramAudio.Channels * sizeof(float)];
            int held = 0;
            try
            {
                while (true)
                {
                    int n = await socket.ReceiveAsync(bytes.AsMemory(held), SocketFlags.None, cancellationToken).ConfigureAwait(false);
                    if (n == 0) return;
                    held += n;
                    // Whole stereo frames only (8 bytes); a partial one waits for the rest.
                    int whole = held - (held % (ProgramAudio.Channels * sizeof(float)));
                    Audio.Write(MemoryMarshal.Cast<byte, float>(bytes.AsSpan(0, whole)));
                    bytes.AsSpan(whole, held - whole).CopyTo(bytes);
                    held -= whole;
                }
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try { await _loop.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        _audioListener.Stop();
        _audioListener.Dispose();
        _stop.Dispose();
        _video?.Dispose();
    }

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Input {InputId}: decoding channel {Channel} (ffmpeg {Pid}) at {Width}x{Height}, audio {HasAudio}")]
    private partial void LogStarted(string inputId, string channel, int pid, int width, int height, bool hasAudio);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Information, Message = "Input {InputId}: channel {Channel} is missing ({Reason})")]
    private partial void LogMissing(string inputId, string channel, string reason);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "Input {InputId}: decoder restarts in {WaitMs} ms after: {Reason}")]
    private partial void LogRestart(string inputId, double waitMs, string reason);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Warning, Message = "Input {InputId}: ffmpeg never connected its audio output; the input is silent this run")]
    private partial void LogNoAudio(string inputId);
}
