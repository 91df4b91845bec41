using Broadcast.Media;
using Broadcast.TestSupport;
using Broadcast.Transcoder.Thumbnails;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Broadcast.Transcoder.Tests.Thumbnails;

/// <summary>
/// The node's thumbnails cost one ffmpeg run per batch, not one per picture: five live streams, published a clock second
/// apart, each get a picture every interval, from far fewer runs than pictures (the streams fall into step).
/// </summary>
[Trait("Kind", "Component")]
public sealed class ThumbnailServiceTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private sealed class Sink : IThumbnailSink
    {
        public Dictionary<string, int> Pictures { get; } = new(StringComparer.Ordinal);

        public ValueTask PutAsync(string stream, ReadOnlyMemory<byte> jpeg, TimeSpan maxAge, CancellationToken cancellationToken)
        {
            Assert.True(jpeg.Length > 2 && jpeg.Span[0] == 0xFF && jpeg.Span[1] == 0xD8, "not a JPEG");
            Assert.Equal(TimeSpan.FromSeconds(10), maxAge);
            lock (Pictures) Pictures[stream] = Pictures.GetValueOrDefault(stream) + 1;
            return ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task Streams_that_start_apart_share_ffmpeg_runs_and_each_gets_its_picture_every_interval()
    {
        using var dir = new TempDirectory();
        var clock = new ManualClock(new DateTimeOffset(2026, 11, 26, 8, 0, 0, TimeSpan.Zero));
        var registry = new LiveStreamRegistry(clock);
        var sink = new Sink();
        using var service = new ThumbnailService(registry, sink, Options.Create(new ThumbnailOptions { IntervalSeconds = 10, Height = 180, FfmpegPath = "ffmpeg" }),
            NullLogger<ThumbnailService>.Instance, clock);
        var keyframe = await ThumbnailBatchTests.KeyframeAsync(dir, 320, 180);
        var streams = new List<LiveStream>();
        try
        {
            // A minute of the clock, one look a second as the service's timer takes them, each look finished before the
            // clock moves on (the timer's loop would let a slow machine's ffmpeg runs fall behind the test's clock): a
            // stream is published in each of the first five seconds, and a keyframe every second keeps each stream's
            // newest picture fresh.
            for (int seconds = 1; seconds <= 60; seconds++)
            {
                clock.Advance(TimeSpan.FromSeconds(1));
                if (streams.Count < 5)
                {
                    Assert.True(registry.TryStartPublish($"channel{streams.Count}", out var stream));
                    stream.SetTrack(keyframe.Track);
                    streams.Add(stream);
                }

                foreach (var stream in streams) stream.Write(keyframe.AddRef());
                await service.ShootDueAsync(CancellationToken.None);
            }

            lock (sink.Pictures)
            {
                Assert.Equal(5, sink.Pictures.Count);
                // One every 10 s interval of the minute each (the first at its first keyframe), whatever the machine's pace.
                Assert.All(sink.Pictures.Values, n => Assert.Equal(6, n));
            }

            output.WriteLine($"{service.Written} pictures from {service.Runs} ffmpeg runs; per stream: {string.Join(", ", sink.Pictures.Values)}");
            // One run per picture was the old cost; batched, the five streams need far fewer.
            Assert.True(service.Runs * 2 <= service.Written, $"{service.Runs} ffmpeg runs for {service.Written} pictures");
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
            foreach (var stream in streams) registry.EndPublish(stream);
            keyframe.Release();
        }
    }

    /// <summary>The pictures of each stream, by the clock's time when each was handed over.</summary>
    private sealed class TimedSink(TimeProvider clock) : IThumbnailSink
    {
        public Dictionary<string, List<DateTimeOffset>> Pictures { get; } = new(StringComparer.Ordinal);

        public ValueTask PutAsync(string stream, ReadOnlyMemory<byte> jpeg, TimeSpan maxAge, CancellationToken cancellationToken)
        {
            lock (Pictures)
            {
                if (!Pictures.TryGetValue(stream, out var times)) Pictures[stream] = times = [];
                times.Add(clock.GetUtcNow());
            }

            return ValueTask.CompletedTask;
        }

        public List<DateTimeOffset> Of(string stream)
        {
            lock (Pictures) return Pictures.TryGetValue(stream, out var times) ? [.. times] : [];
        }
    }

    /// <summary>The streams someone looks at, as a host's origin would report them.</summary>
    private sealed class Looks : IThumbnailLooks
    {
        private readonly HashSet<string> _looked = new(StringComparer.Ordinal);

        public void LookAt(string stream)
        {
            lock (_looked) _looked.Add(stream);
        }

        public TimeSpan? SinceLastLook(string stream)
        {
            lock (_looked) return _looked.Contains(stream) ? TimeSpan.Zero : null;
        }
    }

    [Fact]
    public async Task A_stream_nobody_looks_at_gets_its_first_picture_only_until_someone_looks()
    {
        using var dir = new TempDirectory();
        var start = new DateTimeOffset(2026, 11, 26, 17, 0, 0, TimeSpan.Zero);
        var clock = new ManualClock(start);
        var registry = new LiveStreamRegistry(clock);
        var sink = new TimedSink(clock);
        var looks = new Looks();
        looks.LookAt("watched");
        using var service = new ThumbnailService(registry, sink, Options.Create(new ThumbnailOptions { IntervalSeconds = 10, Height = 180, FfmpegPath = "ffmpeg" }),
            NullLogger<ThumbnailService>.Instance, clock, looks);
        var keyframe = await ThumbnailBatchTests.KeyframeAsync(dir, 320, 180);
        Assert.True(registry.TryStartPublish("watched", out var watched));
        Assert.True(registry.TryStartPublish("idle", out var idle));
        var lookedAt = start.AddSeconds(40);
        try
        {
            foreach (var stream in new[] { watched, idle }) stream.SetTrack(keyframe.Track);
            // A keyframe a second on each stream for 70 s of the clock, one look of the service a second, each finished
            // before the clock moves on; someone starts looking at "idle" at 40 s.
            for (int seconds = 1; seconds <= 70; seconds++)
            {
                if (seconds == 40) looks.LookAt("idle");
                clock.Advance(TimeSpan.FromSeconds(1));
                watched.Write(keyframe.AddRef());
                idle.Write(keyframe.AddRef());
                await service.ShootDueAsync(CancellationToken.None);
            }

            var idlePictures = sink.Of("idle");
            output.WriteLine($"watched: {sink.Of("watched").Count} pictures; idle: {string.Join(", ", idlePictures.Select(t => (t - start).TotalSeconds))} s");
            // Nobody looked for 40 s: its first picture (a poster) and no other, where a watched stream has one every interval.
            Assert.Single(idlePictures, t => t < lookedAt);
            Assert.Equal(8, sink.Of("watched").Count);
            // Once looked at, its next picture comes at the next look, not after the idle interval (300 s), then every interval.
            Assert.Equal([40d, 50, 60, 70], idlePictures.Where(t => t >= lookedAt).Select(t => (t - start).TotalSeconds));
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
            registry.EndPublish(watched);
            registry.EndPublish(idle);
            keyframe.Release();
        }
    }
}
