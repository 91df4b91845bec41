using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Threading.Channels;
using Broadcast.Media;
using Broadcast.Media.Codecs.Opus;
using Broadcast.Media.Flv;
using Broadcast.Media.MpegTs;
using Broadcast.Processes;
using Microsoft.Extensions.Logging;

namespace Broadcast.Ingest.Srt;

/// <summary>
/// Turns an SRT publisher's Opus audio into the AAC an RTMP publish carries, so the hub, the transcoder's FLV input,
/// restream, recording and every packaged rendition see no difference. One supervised ffmpeg per publisher that sends
/// Opus: the Opus packets, re-wrapped as a one-stream MPEG-TS (<see cref="TsPacketizer"/>), go in on stdin; AAC comes
/// back as FLV on stdout and enters the stream through the <see cref="FlvDemuxer"/> every FLV source uses.
/// </summary>
/// <remarks>
/// Times: ffmpeg is fed PTS counted from the first packet (plus <see cref="FedOriginMs"/>) and keeps them (<c>-copyts</c>);
/// each AAC frame's FLV time is mapped back onto the program clock by the same offset, so audio stays where the video is,
/// gaps (packets lost on the link) included. The receive thread only queues packets (bounded: a stuck ffmpeg drops audio,
/// counted and logged, never stalls the video); one task writes them to ffmpeg, another reads its output. ffmpeg that
/// exits or fails is started again after <see cref="RestartBackoff"/>'s wait, with its stderr tail in the log; the audio
/// that queued meanwhile is dropped rather than put into the stream seconds late.
/// </remarks>
internal sealed partial class OpusToAacTranscoder : IOpusAudioSink, IAsyncDisposable
{
    /// <summary>About ten seconds of 20 ms packets: ffmpeg's start and a restart fit, a hung one does not grow memory.</summary>
    private const int QueueCapacity = 512;

    private const ushort PmtPid = 0x1000;
    private const ushort AudioPid = 0x100;

    /// <summary>private_stream_1, the stream_id of Opus PES packets.</summary>
    private const byte OpusStreamId = 0xBD;

    /// <summary>The fed PTS of the first packet: far enough from 0 that the AAC encoder's priming frame is not negative.</summary>
    private const long FedOriginMs = 10_000;

    private readonly LiveStream _stream;
    private readonly string _ffmpegPath;
    private readonly long _bitrate;
    private readonly ILogger _logger;
    private readonly string _streamName;
    private readonly Channel<Packet> _queue = Channel.CreateBounded<Packet>(new BoundedChannelOptions(QueueCapacity)
    {
        SingleReader = true,
        SingleWriter = true,
        FullMode = BoundedChannelFullMode.Wait,
    });
    private readonly CancellationTokenSource _stop = new();
    private readonly FlvDemuxer _frames;
    private Task? _run;
    private int _channels;
    private long _origin = long.MinValue;
    private long _dropped;

    /// <summary>The ffmpeg now running (null between runs), so that a PMT with another channel count can restart it.</summary>
    private SupervisedProcess? _process;
    private int _runs; // ffmpeg processes started; the run loop's only

    public OpusToAacTranscoder(LiveStream stream, string ffmpegPath, long bitrate, ILogger logger)
    {
        _stream = stream;
        _ffmpegPath = ffmpegPath;
        _bitrate = bitrate;
        _logger = logger;
        _streamName = stream.Name;
        _frames = new FlvDemuxer(stream);
    }

    public void Open(int channels)
    {
        int previous = Interlocked.Exchange(ref _channels, channels);
        if (_run is null) _run = Task.Run(RunAsync);
        else if (previous != channels) _process?.Kill(); // a new PMT with other channels: start over with them
    }

    public void Write(long dts, ReadOnlySpan<byte> packet, int samples)
    {
        if (_stop.IsCancellationRequested) return;
        if (_origin == long.MinValue) Volatile.Write(ref _origin, dts);
        var copy = ArrayPool<byte>.Shared.Rent(packet.Length);
        packet.CopyTo(copy);
        if (_queue.Writer.TryWrite(new Packet(dts, copy, packet.Length))) return;
        ArrayPool<byte>.Shared.Return(copy);
        if (Interlocked.Increment(ref _dropped) is (1 or 100 or 1000 or 10_000) and var dropped) LogDropped(_streamName, dropped);
    }

    /// <summary>Stops ffmpeg at once: what it still holds is dropped (the publisher is gone; the next one brings its own).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested) return;
        _queue.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_run is { } run)
        {
            try { await run.ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }
        while (_queue.Reader.TryRead(out var left)) ArrayPool<byte>.Shared.Return(left.Data);
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        var backoff = new RestartBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(15));
        try
        {
            await RestartLoop.RunAsync(ct => RunVerdict.OfAttemptAsync(RunOnceAsync, TimeProvider.System, ct), backoff,
                (wait, verdict) => LogRestarting(_streamName, verdict.Reason ?? "", (int)wait.TotalMilliseconds), TimeProvider.System,
                _stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>One ffmpeg: "" when it was stopped on purpose, else why it ended (a failure to start it included).</summary>
    private async Task<string> RunOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await RunProcessAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return $"{ex.GetType().Name}: {ex.Message}";
        }
    }

    private async Task<string> RunProcessAsync(CancellationToken cancellationToken)
    {
        int channels = Volatile.Read(ref _channels);
        var launch = new ProcessLaunch(_ffmpegPath, Arguments(channels, _bitrate)) { Stop = StopRequest.CloseStdin };
        await using var process = SupervisedProcess.Start(launch);
        _process = process;
        LogStarted(_streamName, process.Id, channels, _bitrate);
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var writing = WriteAsync(process, attempt.Token);
        var reading = ReadAsync(process, attempt.Token);
        string? failure = null;
        try
        {
            var first = await Task.WhenAny(writing, reading, process.Exited).ConfigureAwait(false);
            if (first == reading) failure = await reading.ConfigureAwait(false);
        }
        finally
        {
            await attempt.CancelAsync().ConfigureAwait(false);
            process.Kill();
            // Either side ends with the process: a broken pipe, a cancelled read or write. Why it ended is the process's to say.
            try { await Task.WhenAll(writing, reading).ConfigureAwait(false); }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException) { }
            _process = null;
        }
        if (cancellationToken.IsCancellationRequested) return "";
        // A child that exits on its own breaks the stdin pipe at once, but its exit is reaped a moment later: the writer's
        // broken pipe can win the race above. Killed or not, it has ended (or is ending) now; wait for its exit code.
        await process.Exited.ConfigureAwait(false);
        await process.DrainStderrAsync().ConfigureAwait(false);
        string tail = string.Join(" | ", process.StderrTail.TakeLast(4));
        return failure ?? string.Create(CultureInfo.InvariantCulture, $"ffmpeg exited ({process.ExitCode}): {tail}");
    }

    /// <summary>The program table once, then each queued packet as one PES.</summary>
    private async Task WriteAsync(SupervisedProcess process, CancellationToken cancellationToken)
    {
        // After a failure, what queued while no ffmpeg ran (the backoff wait) is audio the program has already played
        // past: encoded now it would arrive seconds late, behind newer frames. It is dropped and counted. The first
        // run keeps its queue: those packets waited only for ffmpeg to start.
        if (_runs++ > 0)
        {
            long stale = 0;
            while (_queue.Reader.TryRead(out var old))
            {
                ArrayPool<byte>.Shared.Return(old.Data);
                stale++;
            }
            if (stale > 0) LogDropped(_streamName, Interlocked.Add(ref _dropped, stale));
        }
        var packetizer = new TsPacketizer();
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        var section = new ArrayBufferWriter<byte>(256);
        new ProgramAssociationSection(1, 0, [new PatProgram(1, PmtPid)]).Write(section);
        packetizer.WriteSection(buffer, 0, section.WrittenSpan);
        section.ResetWrittenCount();
        new ProgramMapSection(1, 0, AudioPid, [new PmtStream(TsStreamType.PrivatePes, AudioPid, OpusTsDescriptors.For(Volatile.Read(ref _channels)))])
            .Write(section);
        packetizer.WriteSection(buffer, PmtPid, section.WrittenSpan);
        var control = new ArrayBufferWriter<byte>(2048);
        var stdin = process.Stdin;
        await stdin.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
        while (await _queue.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            buffer.ResetWrittenCount();
            while (_queue.Reader.TryRead(out var packet))
            {
                control.ResetWrittenCount();
                new OpusControlHeader(packet.Length).Write(control);
                control.Write(packet.Data.AsSpan(0, packet.Length));
                long pts = Timescales.Rescale(FedOriginMs, Timescales.Milliseconds, Timescales.Video)
                    + Timescales.Rescale(packet.Dts - _origin, OpusPacket.SampleRate, Timescales.Video);
                packetizer.WritePes(buffer, AudioPid, OpusStreamId, pts, control.WrittenSpan);
                ArrayPool<byte>.Shared.Return(packet.Data);
            }
            await stdin.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
            await stdin.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>ffmpeg's FLV: each AAC tag onto the program clock and into the stream. Returns why it stopped, or null at end of output.</summary>
    private async Task<string?> ReadAsync(SupervisedProcess process, CancellationToken cancellationToken)
    {
        var reader = new FlvStreamReader();
        var pipe = PipeReader.Create(process.Stdout);
        TimestampUnwrapper clock = default;
        try
        {
            while (true)
            {
                var result = await pipe.ReadAsync(cancellationToken).ConfigureAwait(false);
                string? refused = null;
                var consumed = reader.Read(result.Buffer, tag =>
                {
                    if (tag.Type != FlvTagType.Audio || _stop.IsCancellationRequested) return true;
                    // The first packet's time is set before any packet reaches ffmpeg, so before any output.
                    long originMs = Timescales.Rescale(Volatile.Read(ref _origin), OpusPacket.SampleRate, Timescales.Milliseconds);
                    long ms = originMs + clock.Unwrap(tag.TimestampMs) - FedOriginMs;
                    if (!_frames.TryWriteAudio(ms, tag.Data, out var error) && error is not null) refused = error;
                    return refused is null;
                }, out string? malformed);
                pipe.AdvanceTo(consumed, result.Buffer.End);
                if (refused is not null || malformed is not null) return "ffmpeg's FLV output is unusable: " + (refused ?? malformed);
                if (result.IsCompleted) return null;
            }
        }
        finally
        {
            await pipe.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// ffmpeg reads the one Opus stream (probing little: the PMT names the codec and channels) and writes AAC as FLV,
    /// each packet flushed at once. Opus is always 48 kHz; AAC keeps that rate, and stereo at most.
    /// </summary>
    internal static List<string> Arguments(int channels, long bitrate) =>
    [
        "-hide_banner", "-nostats", "-loglevel", "warning",
        "-probesize", "32768", "-analyzeduration", "200000",
        "-copyts", "-f", "mpegts", "-i", "pipe:0",
        "-map", "0:a:0", "-c:a", "aac", "-b:a", bitrate.ToString(CultureInfo.InvariantCulture), "-ar", "48000", "-ac", channels == 1 ? "1" : "2",
        "-flush_packets", "1", "-flvflags", "no_duration_filesize", "-f", "flv", "pipe:1",
    ];

    private readonly record struct Packet(long Dts, byte[] Data, int Length);

    [LoggerMessage(EventId = 1117, Level = LogLevel.Information,
        Message = "SRT publish {StreamName} sends Opus: ffmpeg {ProcessId} turns its {Channels} channels into AAC at {Bitrate} bit/s")]
    private partial void LogStarted(string streamName, int processId, int channels, long bitrate);

    [LoggerMessage(EventId = 1118, Level = LogLevel.Warning,
        Message = "SRT publish {StreamName}: the Opus to AAC ffmpeg ended ({Reason}); starting it again in {WaitMs} ms")]
    private partial void LogRestarting(string streamName, string reason, int waitMs);

    [LoggerMessage(EventId = 1119, Level = LogLevel.Warning,
        Message = "SRT publish {StreamName}: {Dropped} Opus packets dropped so far, the AAC ffmpeg did not take them in time")]
    private partial void LogDropped(string streamName, long dropped);
}
