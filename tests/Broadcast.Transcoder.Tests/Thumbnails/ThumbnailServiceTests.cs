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
        using var service = new ThumbnailService(registry, sink, Options.Create(new ThumbnailOptions { IntervalSeconds = 10, Height = 180 }),
            NullLogger<ThumbnailService>.Instance, clock);
        await service.StartAsync(CancellationToken.None);
        var keyframe = await ThumbnailBatchTests.KeyframeAsync(dir, 320, 180);
        var streams = new List<LiveStream>();
        try
        {
            // Each poll moves the clock a second: a stream is published on each of the first five, then a keyframe every
            // second keeps each stream's newest picture fresh, for a minute of the clock.
            int seconds = 0;
            await WaitFor.ConditionAsync(() =>
            {
                seconds++;
                clock.Advance(TimeSpan.FromSeconds(1));
                if (streams.Count < 5)
                {
                    Assert.True(registry.TryStartPublish($"channel{streams.Count}", out var stream));
                    stream.SetTrack(keyframe.Track);
                    streams.Add(stream);
                }

                foreach (var stream in streams) stream.Write(keyframe.AddRef());
                return Task.FromResult(seconds >= 60);
            }, TimeSpan.FromMinutes(3), "a minute of the clock", pollInterval: TimeSpan.FromMilliseconds(50));
            await WaitFor.ConditionAsync(() => Task.FromResult(service.Written >= 20), TimeSpan.FromMinutes(1), "pictures of every stream");

            lock (sink.Pictures)
            {
                Assert.Equal(5, sink.Pictures.Count);
                // About six intervals each (the first at its first keyframe): at least four, whatever the machine's pace.
                Assert.All(sink.Pictures.Values, n => Assert.InRange(n, 4, 8));
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
}
