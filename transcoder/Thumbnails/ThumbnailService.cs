using Broadcast.Media;
using Broadcast.Media.Flv;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Broadcast.Transcoder.Thumbnails;

/// <summary>
/// A thumbnail of every live source stream, renewed as often as someone looks at it. One loop for the whole node looks at
/// the registry's streams once a <see cref="Tick"/> and turns the newest keyframes of those that are due
/// (<see cref="LiveStream.LatestKeyframe"/>: one reference, no copy, and no reader waking on every frame) into JPEGs, all of
/// them in one ffmpeg run (<see cref="ThumbnailBatch"/>), handed to the <see cref="IThumbnailSink"/>. A stream's first
/// picture is due at its first keyframe; the next <see cref="ThumbnailOptions.Interval"/> after the last while its thumbnail
/// is looked at (<see cref="IThumbnailLooks"/>), <see cref="ThumbnailOptions.IdleInterval"/> after it while not. A run also
/// takes the streams due within the next half interval, so streams that started at different times fall into step and a
/// node runs ffmpeg about once or twice an interval whatever its channel count (one run per
/// <see cref="ThumbnailBatch.MaxPictures"/> pictures beyond that), never two at once: the cost follows the pictures looked
/// at, bounded per node. The last picture stays after the broadcast ends, as the channel's poster.
/// </summary>
public sealed partial class ThumbnailService(
    LiveStreamRegistry registry,
    IThumbnailSink sink,
    IOptions<ThumbnailOptions> options,
    ILogger<ThumbnailService> logger,
    TimeProvider? time = null,
    IThumbnailLooks? looks = null) : IHostedService, IDisposable
{
    private static readonly TimeSpan EncodeTimeout = TimeSpan.FromSeconds(20);

    /// <summary>How often the loop looks for pictures that are due: a new stream's first one waits at most this.</summary>
    public static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);

    private readonly ThumbnailOptions _options = options.Value;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly CancellationTokenSource _stop = new();

    // Touched by the loop alone: one entry per live stream, dropped when the stream leaves the registry.
    private readonly Dictionary<LiveStream, Subject> _subjects = [];
    private readonly string _workDirectory = Path.Combine(Path.GetTempPath(), $"broadcast-thumbnails-{Environment.ProcessId}");
    private Task _loop = Task.CompletedTask;

    /// <summary>Thumbnails handed to the sink so far (for tests and status).</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>ffmpeg runs so far: one per batch of pictures (for tests and the cost bench).</summary>
    public long Runs => Interlocked.Read(ref _runs);

    private long _written;
    private long _runs;

    /// <summary>One live stream and when its pictures were due and made.</summary>
    private sealed class Subject(LiveStream stream)
    {
        public LiveStream Stream { get; } = stream;

        /// <summary><see cref="TimeProvider.GetTimestamp"/> when the loop first saw a keyframe (the first picture is due then); 0 before.</summary>
        public long FirstKeyframe;

        /// <summary><see cref="TimeProvider.GetTimestamp"/> of the last picture's batch; 0 before the first.</summary>
        public long Shot;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled) return Task.CompletedTask;
        _loop = Task.Run(() => ShootLoopAsync(_stop.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task ShootLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Tick, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    await ShootDueAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogFailed(logger, "(batch)", e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            try { if (Directory.Exists(_workDirectory)) Directory.Delete(_workDirectory, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>One look: when a picture is due, it and every one due within half an interval are made in one run.</summary>
    internal async Task ShootDueAsync(CancellationToken cancellationToken)
    {
        long now = _time.GetTimestamp();
        long interval = Ticks(_options.Interval);
        var due = new List<(Subject Subject, long Due)>();
        foreach (var subject in LookAtStreams(now))
        {
            if (DueAt(subject) is { } at) due.Add((subject, at));
        }

        if (!due.Exists(d => d.Due <= now)) return;
        due.RemoveAll(d => d.Due > now + (interval / 2));
        due.Sort(static (a, b) => a.Due.CompareTo(b.Due));
        var names = new List<string>(due.Count);
        var keyframes = new List<MediaFrame>(due.Count);
        foreach (var (subject, _) in due)
        {
            // A reference of our own: the stream releases its copy when a newer keyframe arrives or it ends.
            if (subject.Stream.LatestKeyframe() is not { } keyframe) continue;
            // A codec the batch cannot carry is due again an interval later, not at every tick.
            subject.Shot = now;
            if (!FlvMuxer.CanCarry(keyframe.Track))
            {
                keyframe.Release();
                continue;
            }

            names.Add(subject.Stream.Name);
            keyframes.Add(keyframe);
        }

        if (keyframes.Count == 0) return;
        try
        {
            Directory.CreateDirectory(_workDirectory);
            var made = await ThumbnailBatch.EncodeAsync(_options.FfmpegPath, keyframes, _options.Height, _workDirectory, EncodeTimeout,
                cancellationToken)
                .ConfigureAwait(false);
            Interlocked.Add(ref _runs, made.Runs);
            for (int i = 0; i < made.Pictures.Count; i++)
            {
                var (jpeg, error) = made.Pictures[i];
                if (jpeg is null)
                {
                    LogFailed(logger, names[i], error!);
                    continue;
                }

                await sink.PutAsync(names[i], jpeg, _options.Interval, cancellationToken).ConfigureAwait(false);
                if (Interlocked.Increment(ref _written) == 1) LogFirst(logger, names[i], jpeg.Length);
            }
        }
        finally
        {
            foreach (var keyframe in keyframes) keyframe.Release();
        }
    }

    // The registry's live streams, each with its subject: new streams get one, ended ones lose theirs, and a stream's first
    // keyframe seen makes its first picture due.
    private List<Subject> LookAtStreams(long now)
    {
        var live = registry.Active;
        var subjects = new List<Subject>(live.Count);
        foreach (var stream in live)
        {
            if (!_subjects.TryGetValue(stream, out var subject)) _subjects[stream] = subject = new Subject(stream);
            if (subject.FirstKeyframe == 0 && stream.LatestKeyframe() is { } first)
            {
                first.Release();
                subject.FirstKeyframe = Math.Max(1, now);
            }

            subjects.Add(subject);
        }

        if (_subjects.Count > subjects.Count)
        {
            var current = live.ToHashSet();
            foreach (var stream in _subjects.Keys.Where(s => !current.Contains(s)).ToList()) _subjects.Remove(stream);
        }

        return subjects;
    }

    // When the subject's next picture is due: at its first keyframe, then an interval after the last while its thumbnail is
    // looked at, the idle interval while not. Null before the stream's first keyframe.
    private long? DueAt(Subject subject)
    {
        if (subject.FirstKeyframe == 0) return null;
        if (subject.Shot == 0) return subject.FirstKeyframe;
        return subject.Shot + Ticks(IsLookedAt(subject.Stream.Name) ? _options.Interval : _options.IdleInterval);
    }

    private bool IsLookedAt(string stream) => looks is null || looks.SinceLastLook(stream) is { } since && since < _options.LookWindow;

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    public void Dispose() => _stop.Dispose();

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Thumbnails: the first one is written ({Stream}, {Bytes} bytes)")]
    private static partial void LogFirst(ILogger logger, string stream, int bytes);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Warning, Message = "Thumbnail of {Stream} not made: {Reason}")]
    private static partial void LogFailed(ILogger logger, string stream, string reason);
}
