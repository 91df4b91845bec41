using System.Collections.Concurrent;
using Broadcast.Media;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Transcoder.Slate;

/// <summary>
/// <c>Ingest:Slate</c>: while a dropped publish waits for its encoder, fills the gap with the slate (the image and
/// silence) at the pace of the clock, as a publish of its own (<see cref="LiveStream.TryBeginFill"/>): the packager
/// marks the switch to the slate and back with discontinuities, the transcoder encodes its rungs, so players never
/// stall. The slate is encoded once per source size and audio format and kept for later gaps.
/// </summary>
public sealed partial class SlateFiller : IHostedService, IAsyncDisposable
{
    private readonly LiveStreamRegistry _registry;
    private readonly string _ffmpeg;
    private readonly string _image;
    private readonly int _segmentSeconds;
    private readonly ILogger<SlateFiller> _logger;
    private readonly ConcurrentDictionary<(int W, int H, int Rate, int Channels), Lazy<Task<SlateClip>>> _clips = new();
    private readonly ConcurrentDictionary<Task, byte> _fills = new();
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;

    public SlateFiller(LiveStreamRegistry registry, string ffmpeg, string image, int segmentSeconds, ILogger<SlateFiller> logger)
    {
        _registry = registry;
        _ffmpeg = ffmpeg;
        _image = image;
        _segmentSeconds = segmentSeconds;
        _logger = logger;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(_image)) LogMissing(_image);
        _registry.Interrupted += OnInterrupted;
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _registry.Interrupted -= OnInterrupted;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_fills.Keys).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void OnInterrupted(LiveStream stream)
    {
        var task = Task.Run(() => FillAsync(stream, _stopping.Token));
        _fills.TryAdd(task, 0);
        _ = task.ContinueWith(t => _fills.TryRemove(t, out _), TaskScheduler.Default);
    }

    private async Task FillAsync(LiveStream stream, CancellationToken cancellationToken)
    {
        try
        {
            if (stream.Video is not VideoTrack video) return; // an audio-only broadcast has nothing to show
            var audio = stream.Audio as AudioTrack;
            (int W, int H, int Rate, int Channels) key = (video.Width, video.Height, audio?.SampleRate ?? 48000, audio?.Channels ?? 2);
            var lazy = _clips.GetOrAdd(key, k => new Lazy<Task<SlateClip>>(() =>
                SlateClip.EncodeAsync(_ffmpeg, _image, k.W, k.H, k.Rate, k.Channels, _segmentSeconds, _stopping.Token)));
            SlateClip clip;
            try { clip = await lazy.Value.ConfigureAwait(false); }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _clips.TryRemove(new KeyValuePair<(int, int, int, int), Lazy<Task<SlateClip>>>(key, lazy));
                LogFailed(ex, stream.Name);
                return;
            }
            int fill = stream.TryBeginFill();
            if (fill < 0) return; // the encoder came back (or the grace ran out) while the slate was encoded
            LogStarted(stream.Name, key.W, key.H);
            await PlayAsync(stream, clip, fill, cancellationToken).ConfigureAwait(false);
            LogStopped(stream.Name);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogFailed(ex, stream.Name);
        }
    }

    /// <summary>Writes the slate's frames over and over, each when the clock reaches it, until the fill ends.</summary>
    private static async Task PlayAsync(LiveStream stream, SlateClip clip, int fill, CancellationToken cancellationToken)
    {
        var time = stream.TimeProvider;
        long started = time.GetTimestamp();
        long frameTicks = Timescales.Video / SlateClip.FramesPerSecond;
        var audioTrack = (AudioTrack)clip.Audio[0].Track;
        long videoIndex = 0, audioIndex = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            // Next frame in media order: video at 90 kHz, audio by sample count (never rounded milliseconds).
            long videoAt = videoIndex * frameTicks;
            long audioAt = Timescales.Rescale(audioIndex * audioTrack.SamplesPerFrame, audioTrack.SampleRate, Timescales.Video);
            bool isVideo = videoAt <= audioAt;
            long due = isVideo ? videoAt : audioAt;
            var wait = TimeSpan.FromMicroseconds(Timescales.Rescale(due, Timescales.Video, 1_000_000)) - time.GetElapsedTime(started);
            if (wait > TimeSpan.Zero) await Task.Delay(wait, time, cancellationToken).ConfigureAwait(false);
            MediaFrame frame;
            if (isVideo)
            {
                var source = clip.Video[(int)(videoIndex % clip.Video.Count)];
                frame = MediaFrame.Rent(source.Track, videoAt, source.CompositionOffset, source.IsKeyframe, source.Data.Span);
                videoIndex++;
            }
            else
            {
                var source = clip.Audio[(int)(audioIndex % clip.Audio.Count)];
                frame = MediaFrame.Rent(source.Track, audioIndex * audioTrack.SamplesPerFrame, 0, true, source.Data.Span);
                audioIndex++;
            }
            if (!stream.WriteFill(frame, fill)) return;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _registry.Interrupted -= OnInterrupted;
        await _stopping.CancelAsync().ConfigureAwait(false);
        try { await Task.WhenAll(_fills.Keys).ConfigureAwait(false); } catch (OperationCanceledException) { }
        foreach (var lazy in _clips.Values)
        {
            if (lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully) lazy.Value.Result.Dispose();
        }
        _stopping.Dispose();
    }

    [LoggerMessage(EventId = 2130, Level = LogLevel.Information,
        Message = "{Channel}: showing the slate ({Width}x{Height}) while the encoder is away")]
    private partial void LogStarted(string channel, int width, int height);

    [LoggerMessage(EventId = 2131, Level = LogLevel.Information, Message = "{Channel}: slate stopped")]
    private partial void LogStopped(string channel);

    [LoggerMessage(EventId = 2132, Level = LogLevel.Error, Message = "{Channel}: the slate could not be shown")]
    private partial void LogFailed(Exception exception, string channel);

    [LoggerMessage(EventId = 2133, Level = LogLevel.Warning,
        Message = "Ingest:Slate {Path} does not exist; reconnect gaps hold the live edge instead")]
    private partial void LogMissing(string path);
}
