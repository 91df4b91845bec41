using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Broadcast.Compositor.Audio;
using Broadcast.Compositor.Layouts;
using Broadcast.Compositor.Video;
using Broadcast.Media;
using Broadcast.Media.Flv;
using Broadcast.Processes;
using Microsoft.Extensions.Logging;

namespace Broadcast.Compositor.Engine;

/// <summary>How the program's encoder runs.</summary>
public sealed record ProgramEncoderOptions(string FfmpegPath, PixelSize Canvas, ProgramClock Clock)
{
    public int VideoKilobits { get; init; } = 3000;

    public int AudioKilobits { get; init; } = 128;

    /// <summary>The x264 preset: veryfast keeps a 720p30 program and its rungs in real time on two cores.</summary>
    public string Preset { get; init; } = "veryfast";

    public RestartBackoff Backoff { get; init; } = new(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10));

    /// <summary>Canvas frames queued for ffmpeg at most; beyond it a frame is dropped (counted), never waited for.</summary>
    public int QueuedFrames { get; init; } = 16;
}

/// <summary>
/// The program's one supervised encoder: raw <c>yuv420p</c> canvas frames on ffmpeg's stdin, the <c>f32le</c> mix on a
/// loopback TCP connection ffmpeg makes to us, H.264 (x264, keyframe every 2 s exactly, constant frame rate) and AAC
/// out as FLV on stdout, parsed into the program's hub. The program loop hands frames and blocks over without waiting:
/// a writer per pipe drains bounded queues. When ffmpeg dies it is restarted with backoff and the hub's stream goes on:
/// each run's timestamps are placed at the program time of the first frame it encodes, so they stay monotonic and
/// keep pace with the program clock across a restart.
/// </summary>
public sealed partial class ProgramEncoder : IAsyncDisposable
{
    private const int MaxQueuedBlocks = 64;
    private readonly LiveStream _output;
    private readonly ProgramEncoderOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly TcpListener _audioListener = new(IPAddress.Loopback, 0);
    private readonly Channel<(byte[] Picture, long Frame)> _pictures;
    private readonly Channel<float[]> _blocks = Channel.CreateBounded<float[]>(new BoundedChannelOptions(MaxQueuedBlocks) { SingleWriter = true });
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private long _lastVideoMs = -1, _lastAudioMs = -1;
    private long _framesDropped, _framesEncoded;
    private long _audioDebt; // interleaved samples to leave out of the mix: the duration of the pictures dropped
    private long _owed;      // pictures the queue could not take, to be made up by repeating the previous one
    private int _restarts, _runs;

    public ProgramEncoder(LiveStream output, ProgramEncoderOptions options, ILogger logger, TimeProvider? time = null)
    {
        _output = output ?? throw new ArgumentNullException(nameof(output));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _time = time ?? TimeProvider.System;
        _pictures = Channel.CreateBounded<(byte[], long)>(new BoundedChannelOptions(options.QueuedFrames) { SingleWriter = true });
    }

    /// <summary>Times ffmpeg was restarted after a failure.</summary>
    public int Restarts => Volatile.Read(ref _restarts);

    /// <summary>Canvas frames the queue could not take because ffmpeg was behind or down (repeated or lost).</summary>
    public long FramesDropped => Interlocked.Read(ref _framesDropped);

    /// <summary>Video frames published into the program's hub.</summary>
    public long FramesEncoded => Interlocked.Read(ref _framesEncoded);

    /// <summary>The running ffmpeg's process id (tests crash it to check a restart).</summary>
    internal int? ProcessId { get; private set; }

    public void Start()
    {
        _audioListener.Start();
        _loop = RestartLoop.RunAsync(RunOnceAsync, _options.Backoff, (wait, verdict) => LogRestart(wait.TotalMilliseconds, verdict.Reason ?? ""),
            _time, _stop.Token);
    }

    /// <summary>Queues program frame <paramref name="frame"/> for encoding; false (the previous picture stands in for it) when ffmpeg is
    /// behind.</summary>
    public bool Write(Yuv420Frame canvas, long frame)
    {
        ArgumentNullException.ThrowIfNull(canvas);
        var picture = ArrayPool<byte>.Shared.Rent(canvas.ByteLength);
        canvas.CopyTo(picture);
        if (_pictures.Writer.TryWrite((picture, frame))) return true;
        ArrayPool<byte>.Shared.Return(picture);
        Interlocked.Increment(ref _framesDropped);
        // ffmpeg times raw pictures and samples by their count: a missing picture would put every later one a frame
        // early. Up to two seconds' worth the writer makes up by repeating the previous picture once ffmpeg catches
        // up (it encodes faster than real time); beyond that the picture is lost and takes its samples with it.
        if (Interlocked.Increment(ref _owed) > 2L * _options.Clock.RateNumerator / _options.Clock.RateDenominator)
        {
            Interlocked.Decrement(ref _owed);
            Interlocked.Add(ref _audioDebt, _options.Clock.AudioSamplesDuring(frame) * ProgramAudio.Channels);
        }
        return false;
    }

    /// <summary>Queues one block of the mix (interleaved stereo); the oldest queued block gives way when ffmpeg is behind.</summary>
    public void Write(ReadOnlySpan<float> block)
    {
        var copy = ArrayPool<float>.Shared.Rent(block.Length);
        block.CopyTo(copy);
        while (!_blocks.Writer.TryWrite(copy))
        {
            if (_blocks.Reader.TryRead(out var oldest)) ArrayPool<float>.Shared.Return(oldest);
        }
    }

    private async Task<RunVerdict> RunOnceAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _runs) > 1) Interlocked.Increment(ref _restarts);
        // What waited while no ffmpeg ran is stale: a run starts with the program's present.
        Discard();
        long started = _time.GetTimestamp();
        await using var process = SupervisedProcess.Start(new ProcessLaunch(_options.FfmpegPath, Arguments()));
        ProcessId = process.Id;
        LogStarted(process.Id, _options.Canvas.Width, _options.Canvas.Height);
        using var run = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var offset = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pictures = WritePicturesAsync(process.Stdin, connected.Task, offset, run.Token);
        var audio = WriteAudioAsync(connected, run.Token);
        var output = ReadOutputAsync(process.Stdout, offset.Task, run.Token);
        await Task.WhenAny(pictures, audio, output, process.Exited).ConfigureAwait(false);
        await run.CancelAsync().ConfigureAwait(false);
        await process.StopAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        try { await Task.WhenAll(pictures, audio, output).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false); }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException) { }
        if (cancellationToken.IsCancellationRequested) return RunVerdict.Stop;
        var tail = process.StderrTail;
        string reason = process.HasExited ? $"ffmpeg exited {process.ExitCode}: {(tail.Count > 0 ? tail[^1] : "")}" : "ffmpeg stopped";
        return RunVerdict.Failed(_time.GetElapsedTime(started), reason);
    }

    private List<string> Arguments()
    {
        var clock = _options.Clock;
        string rate = string.Create(CultureInfo.InvariantCulture, $"{clock.RateNumerator}/{clock.RateDenominator}");
        // A keyframe exactly every 2 s: the GOP is fixed at two seconds of frames and scene cuts add none (§ the ladder's segment alignment).
        string gop = (2 * clock.RateNumerator / clock.RateDenominator).ToString(CultureInfo.InvariantCulture);
        string port = ((IPEndPoint)_audioListener.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);
        return
        [
            "-hide_banner", "-nostdin", "-loglevel", "warning",
            // The mix first: ffmpeg opens its inputs in order, and the pictures start flowing once it holds the mix's connection.
            "-f", "f32le", "-ar", "48000", "-ac", "2", "-probesize", "32", "-analyzeduration", "0", "-thread_queue_size", "256",
            "-i", $"tcp://127.0.0.1:{port}",
            "-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", $"{_options.Canvas.Width}x{_options.Canvas.Height}", "-framerate", rate,
            "-probesize", "32", "-analyzeduration", "0", "-thread_queue_size", "64", "-i", "pipe:0",
            "-map", "1:v", "-map", "0:a",
            "-c:v", "libx264", "-preset", _options.Preset, "-tune", "zerolatency", "-pix_fmt", "yuv420p",
            "-g", gop, "-keyint_min", gop, "-sc_threshold", "0", "-fps_mode", "cfr",
            "-b:v", $"{_options.VideoKilobits}k", "-maxrate", $"{_options.VideoKilobits}k", "-bufsize", $"{_options.VideoKilobits * 2}k",
            "-c:a", "aac", "-b:a", $"{_options.AudioKilobits}k", "-ar", "48000", "-ac", "2",
            "-flvflags", "no_duration_filesize", "-f", "flv", "pipe:1",
        ];
    }

    private async Task WritePicturesAsync(Stream stdin, Task connected, TaskCompletionSource<long> offset, CancellationToken cancellationToken)
    {
        try
        {
            await connected.WaitAsync(cancellationToken).ConfigureAwait(false);
            await foreach (var (picture, frame) in _pictures.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                // This run's time zero is its first frame's program time (never before what the hub already has).
                offset.TrySetResult(Math.Max(_options.Clock.VideoTicks(frame) / 90, Math.Max(_lastVideoMs, _lastAudioMs) + 1));
                var bytes = picture.AsMemory(0, _options.Canvas.Width * _options.Canvas.Height * 3 / 2);
                try
                {
                    await stdin.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                    while (Interlocked.Read(ref _owed) > 0)
                    {
                        Interlocked.Decrement(ref _owed);
                        await stdin.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                    }
                }
                finally { ArrayPool<byte>.Shared.Return(picture); }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    private async Task WriteAudioAsync(TaskCompletionSource connected, CancellationToken cancellationToken)
    {
        try
        {
            using var socket = await _audioListener.AcceptSocketAsync(cancellationToken).ConfigureAwait(false);
            socket.NoDelay = true; // each block goes now, not when the previous one is acknowledged
            // Pictures and samples count from here on both pipes: ffmpeg times them by their count from zero.
            Discard();
            connected.TrySetResult();
            var bytes = new byte[ProgramAudio.BlockFrames * ProgramAudio.Channels * sizeof(float)];
            await foreach (var block in _blocks.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                int samples = ProgramAudio.BlockFrames * ProgramAudio.Channels;
                int skip = (int)Math.Min(Interlocked.Read(ref _audioDebt), samples);
                if (skip > 0) Interlocked.Add(ref _audioDebt, -skip);
                try { MemoryMarshal.AsBytes(block.AsSpan(skip, samples - skip)).CopyTo(bytes); }
                finally { ArrayPool<float>.Shared.Return(block); }
                if (skip < samples) await socket.SendAsync(bytes.AsMemory(0, (samples - skip) * sizeof(float)), SocketFlags.None,
                    cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    private async Task ReadOutputAsync(Stream stdout, Task<long> offset, CancellationToken cancellationToken)
    {
        var pipe = PipeReader.Create(stdout);
        var demuxer = new FlvDemuxer(_output);
        var flv = new FlvStreamReader();
        var unwrap = new TimestampUnwrapper();
        long shift = -1;
        FlvTagHandler handler = tag => OnTag(tag, demuxer, ref unwrap, shift);
        try
        {
            while (true)
            {
                var result = await pipe.ReadAsync(cancellationToken).ConfigureAwait(false);
                if (shift < 0 && result.Buffer.Length > 0) shift = await offset.WaitAsync(cancellationToken).ConfigureAwait(false);
                var consumed = flv.Read(result.Buffer, handler, out var error);
                if (error is not null)
                {
                    LogBadOutput(error);
                    return;
                }
                pipe.AdvanceTo(consumed, result.Buffer.End);
                if (result.IsCompleted) return;
            }
        }
        finally
        {
            await pipe.CompleteAsync().ConfigureAwait(false);
        }
    }

    private bool OnTag(FlvTag tag, FlvDemuxer demuxer, ref TimestampUnwrapper unwrap, long shift)
    {
        long ms = unwrap.Unwrap(tag.TimestampMs) + shift;
        string? error = null;
        bool ok = tag.Type switch
        {
            FlvTagType.Video => demuxer.TryWriteVideo(ms, tag.Data, out error),
            FlvTagType.Audio => demuxer.TryWriteAudio(ms, tag.Data, out error),
            _ => true,
        };
        if (error is not null) LogBadOutput(error);
        if (tag.Type == FlvTagType.Video && tag.Data.Length > 1 && tag.Data[1] == 1)
        {
            _lastVideoMs = ms;
            Interlocked.Increment(ref _framesEncoded);
        }
        else if (tag.Type == FlvTagType.Audio) _lastAudioMs = ms;
        return ok;
    }

    private void Discard()
    {
        while (_pictures.Reader.TryRead(out var item)) ArrayPool<byte>.Shared.Return(item.Picture);
        while (_blocks.Reader.TryRead(out var block)) ArrayPool<float>.Shared.Return(block);
        Interlocked.Exchange(ref _audioDebt, 0);
        Interlocked.Exchange(ref _owed, 0);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try { await _loop.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        Discard();
        _audioListener.Stop();
        _audioListener.Dispose();
        _stop.Dispose();
    }

    [LoggerMessage(EventId = 6101, Level = LogLevel.Information, Message = "Program encoder started (ffmpeg {Pid}) at {Width}x{Height}")]
    private partial void LogStarted(int pid, int width, int height);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Warning, Message = "Program encoder restarts in {WaitMs} ms after: {Reason}")]
    private partial void LogRestart(double waitMs, string reason);

    [LoggerMessage(EventId = 6103, Level = LogLevel.Warning, Message = "Program encoder output: {Error}")]
    private partial void LogBadOutput(string error);
}
