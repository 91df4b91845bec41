using System.Collections.Concurrent;
using Broadcast.Media;
using Broadcast.Media.Flv;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Broadcast.Transcoder.Thumbnails;

/// <summary>
/// A thumbnail of every live source stream: a reader on each published stream keeps its latest video keyframe (one
/// reference, no copy), and at the first keyframe and then every <see cref="ThumbnailOptions.Interval"/> that keyframe
/// becomes a JPEG (<see cref="ThumbnailEncoder"/>, off the reader's loop so the reader never falls behind) handed to the
/// <see cref="IThumbnailSink"/>. The last one stays after the broadcast ends, as the channel's poster.
/// </summary>
public sealed partial class ThumbnailService(
    LiveStreamRegistry registry,
    IThumbnailSink sink,
    IOptions<ThumbnailOptions> options,
    ILogger<ThumbnailService> logger,
    TimeProvider? time = null) : IHostedService, IDisposable
{
    private static readonly TimeSpan EncodeTimeout = TimeSpan.FromSeconds(10);

    private readonly ThumbnailOptions _options = options.Value;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<LiveStream, Task> _running = new();

    /// <summary>Thumbnails handed to the sink so far (for tests and status).</summary>
    public long Written => Interlocked.Read(ref _written);

    private long _written;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled) return Task.CompletedTask;
        registry.Published += OnPublished;
        foreach (var stream in registry.Active) OnPublished(stream);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        registry.Published -= OnPublished;
        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_running.Values).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void OnPublished(LiveStream stream)
    {
        if (_stop.IsCancellationRequested) return;
        _running.GetOrAdd(stream, s => Task.Run(() => RunAsync(s, _stop.Token)));
    }

    private async Task RunAsync(LiveStream stream, CancellationToken cancellationToken)
    {
        MediaFrame? latest = null;
        Task encoding = Task.CompletedTask;
        long due = 0;
        try
        {
            using var reader = stream.OpenReader("thumbnail", capacity: 64);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) is { } frame)
            {
                if (frame.Kind == MediaKind.Video && frame.IsKeyframe && FlvMuxer.CanCarry(frame.Track))
                {
                    latest?.Release();
                    latest = frame;
                }
                else
                {
                    frame.Release();
                }

                long now = _time.GetTimestamp();
                if (latest is not null && encoding.IsCompleted && now >= due)
                {
                    due = now + (long)(_options.Interval.TotalSeconds * _time.TimestampFrequency);
                    var shot = latest.AddRef();
                    encoding = Task.Run(() => ShootAsync(stream.Name, shot, cancellationToken), CancellationToken.None);
                }
            }

            await encoding.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            latest?.Release();
            _running.TryRemove(stream, out _);
        }
    }

    private async Task ShootAsync(string name, MediaFrame keyframe, CancellationToken cancellationToken)
    {
        try
        {
            var (jpeg, error) = await ThumbnailEncoder.EncodeAsync(_options.FfmpegPath, keyframe, _options.Height, EncodeTimeout, cancellationToken)
                .ConfigureAwait(false);
            if (jpeg is null)
            {
                LogFailed(logger, name, error!);
                return;
            }

            await sink.PutAsync(name, jpeg, _options.Interval, cancellationToken).ConfigureAwait(false);
            if (Interlocked.Increment(ref _written) == 1) LogFirst(logger, name, jpeg.Length);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            LogFailed(logger, name, e.Message);
        }
        finally
        {
            keyframe.Release();
        }
    }

    public void Dispose() => _stop.Dispose();

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Thumbnails: the first one is written ({Stream}, {Bytes} bytes)")]
    private static partial void LogFirst(ILogger logger, string stream, int bytes);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Warning, Message = "Thumbnail of {Stream} not made: {Reason}")]
    private static partial void LogFailed(ILogger logger, string stream, string reason);
}
