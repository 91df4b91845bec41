using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Broadcast.Compositor.Audio;
using Broadcast.Compositor.Layouts;
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

    /// <summary>How long a channel's sound may flow with no video track declared before it is taken as sound alone (a music bed).</summary>
    public TimeSpan AudioOnlyWait { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a started ffmpeg may take to connect its audio output.</summary>
    public TimeSpan AudioConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// One program input decoded by a supervised ffmpeg to raw <c>yuv420p</c> at a fixed size and the program frame rate
/// (stdout) and to 48 kHz stereo <c>f32le</c> (a loopback TCP connection to a listener of ours). The newest picture waits
/// in <see cref="Video"/>, the samples in <see cref="Audio"/>; while the source is away the input is missing (the
/// program draws its placeholder). Subclasses say where ffmpeg reads from and when to run it.
/// </summary>
/// <remarks>
/// Audio leaves ffmpeg on TCP rather than a FIFO: the listener is bound once to 127.0.0.1:0 (no path to create or
/// clean up, no libc P/Invoke), each ffmpeg attempt connects to it afresh, and a dead ffmpeg shows as the end of its
/// connection.
/// </remarks>
public abstract partial class InputDecoder : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly TcpListener _audioListener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private volatile LatestFrame? _video;
    private volatile bool _present;
    private int _attempts;

    protected InputDecoder(string inputId, InputDecoderOptions options, ILogger logger, TimeProvider? time)
    {
        ArgumentException.ThrowIfNullOrEmpty(inputId);
        InputId = inputId;
        Options = options ?? throw new ArgumentNullException(nameof(options));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        Time = time ?? TimeProvider.System;
        Audio = new AudioRing(time: Time);
    }

    public string InputId { get; }

    /// <summary>True while ffmpeg delivers this input's pictures; false before the first and after the source or ffmpeg ended.</summary>
    public bool IsPresent => _present;

    /// <summary>The newest picture (its size is the one this attempt decodes at), or null before the first attempt.</summary>
    public LatestFrame? Video => _video;

    public AudioRing Audio { get; }

    /// <summary>ffmpeg runs started so far.</summary>
    public int Attempts => Volatile.Read(ref _attempts);

    protected InputDecoderOptions Options { get; }

    protected TimeProvider Time { get; }

    public void Start()
    {
        _audioListener.Start();
        _loop = RestartLoop.RunAsync(RunOnceAsync, Options.Backoff,
            (wait, verdict) => LogRestart(InputId, wait.TotalMilliseconds, verdict.Reason ?? ""), Time, _stop.Token);
    }

    /// <summary>One turn of the restart loop: wait for the source, decode it until it ends or ffmpeg fails.</summary>
    protected abstract Task<RunVerdict> RunOnceAsync(CancellationToken cancellationToken);

    /// <summary>The picture size for a source of <paramref name="source"/>: the largest even size within the canvas with the source's
    /// aspect.</summary>
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

    /// <summary>The frame holder for pictures of <paramref name="size"/>: the current one when the size is unchanged.</summary>
    protected LatestFrame UseSize(PixelSize size)
    {
        var latest = _video is { } current && current.Size == size ? current : new LatestFrame(size);
        _video = latest;
        return latest;
    }

    protected void CountAttempt() => Interlocked.Increment(ref _attempts);

    /// <summary>This attempt decodes sound alone: no picture (a tile that places the input shows its placeholder).</summary>
    protected void UseNoPicture() => _video = null;

    /// <summary>The input is here though no picture will come (sound alone): the mixer takes its samples.</summary>
    protected void MarkPresent() => _present = true;

    /// <summary>The input is away: its placeholder is drawn and its stale sound dropped.</summary>
    protected void MarkMissing()
    {
        _present = false;
        Audio.Clear();
    }

    /// <summary>
    /// The ffmpeg filter that thins the input's pictures to at most one per slot of the program clock, without holding
    /// any back: the first picture of each slot passes at once. ffmpeg's <c>fps</c> filter would give the same cadence but
    /// keeps a picture until the next one arrives (a frame of latency, 33 ms at 30 fps), and the program takes the newest
    /// picture at each tick anyway. A quarter slot of slack keeps every picture of a stream at the program's own rate
    /// whose millisecond timestamps fall just short of a slot (33 ms at 30 fps); a 60 fps input keeps every other picture,
    /// 50 fps three of five. Time running backwards (a publisher's clock reset) passes too.
    /// </summary>
    public static string FrameSelectFilter(ProgramClock clock)
    {
        ArgumentNullException.ThrowIfNull(clock);
        string slot = string.Create(CultureInfo.InvariantCulture, $"{clock.RateNumerator}/{clock.RateDenominator}");
        return $"select='isnan(prev_selected_t)+lt(t\\,prev_selected_t)+gt(floor(t*{slot}+0.25)\\,floor(prev_selected_t*{slot}+0.25))'";
    }

    /// <summary>The ffmpeg arguments of the audio output: the first audio stream as 48 kHz stereo f32le to our listener.</summary>
    protected IEnumerable<string> AudioOutputArguments()
    {
        int port = ((IPEndPoint)_audioListener.LocalEndpoint).Port;
        // Without TCP_NODELAY a write waits for the previous one's acknowledgement (Nagle), and a delayed ACK holds it up to 40 ms.
        return ["-map", "0:a:0", "-ac", "2", "-ar", "48000", "-f", "f32le",
            string.Create(CultureInfo.InvariantCulture, $"tcp://127.0.0.1:{port}?tcp_nodelay=1")];
    }

    /// <summary>
    /// Blocking reads of whole pictures on a thread of its own, each published as the newest. Once
    /// <paramref name="attempt"/> is cancelled (the run is being stopped) pictures no longer make the input present:
    /// ffmpeg flushes the frames it holds when it is stopped, and those are the old source's.
    /// </summary>
    protected Task ReadPicturesAsync(Stream stdout, LatestFrame latest, CancellationToken attempt) =>
        Task.Factory.StartNew(() => ReadPictures(stdout, latest, attempt), CancellationToken.None, TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

    private void ReadPictures(Stream stdout, LatestFrame latest, CancellationToken attempt)
    {
        try
        {
            while (true)
            {
                var frame = latest.Writing;
                if (!ReadFully(stdout, frame.Y) || !ReadFully(stdout, frame.U) || !ReadFully(stdout, frame.V)) return;
                if (attempt.IsCancellationRequested) continue; // drained, not shown: ffmpeg must not block on a full pipe while it stops
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

    /// <summary>Accepts this attempt's audio connection and writes its samples into <see cref="Audio"/> until it ends.</summary>
    protected async Task ReadSamplesAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Options.AudioConnectTimeout);
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

    public virtual async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try { await _loop.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        _audioListener.Stop();
        _audioListener.Dispose();
        _stop.Dispose();
        _video?.Dispose();
        GC.SuppressFinalize(this);
    }

    [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "Input {InputId}: decoder restarts in {WaitMs} ms after: {Reason}")]
    private partial void LogRestart(string inputId, double waitMs, string reason);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Warning,
        Message = "Input {InputId}: ffmpeg never connected its audio output; the input is silent this run")]
    private partial void LogNoAudio(string inputId);
}
