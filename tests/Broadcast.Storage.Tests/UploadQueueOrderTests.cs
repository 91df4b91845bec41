using System.Collections.Concurrent;
using Broadcast.Storage;
using Broadcast.TestSupport;

namespace Broadcast.Storage.Tests;

/// <summary>
/// Ordering of the upload queue over a real filesystem store whose puts take uneven time (a wrapper adds the
/// latency and records when each put started and finished; the bytes are the real store's).
/// </summary>
public sealed class UploadQueueOrderTests : IDisposable
{
    private readonly TempDirectory _dir = new("broadcast-queue-order");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Segments_upload_in_parallel_but_every_manifest_starts_after_all_segments_queued_before_it_are_stored()
    {
        var inner = new SlowStore(new FileSystemSegmentStore(_dir.Path));
        await using var queue = new UploadQueue(inner, new UploadQueueOptions(), parallelUploads: 4);

        var expectedBefore = new Dictionary<int, HashSet<string>>();
        var queued = new HashSet<string>();
        for (int n = 1; n <= 12; n++)
        {
            foreach (var rendition in new[] { "source", "audio" })
            {
                string key = $"ch/{rendition}/b-{n}.m4s";
                await queue.PutAsync(key, new byte[200 + n], ContentTypes.VideoMp4, null, default);
                queued.Add(key);
            }

            expectedBefore[n] = [.. queued];
            await queue.PutAsync("ch/source/index.m3u8", System.Text.Encoding.UTF8.GetBytes($"#EXTM3U\n#{n}\n"), ContentTypes.Hls, null, default);
        }

        await queue.WhenIdleAsync(default).WaitAsync(TimeSpan.FromSeconds(30));

        var manifestStarts = inner.Events.Where(e => e.Key.EndsWith(".m3u8", StringComparison.Ordinal) && e.Started).ToList();
        Assert.NotEmpty(manifestStarts);
        foreach (var start in manifestStarts)
        {
            int version = int.Parse(System.Text.Encoding.UTF8.GetString(start.Data).Split('#')[^1].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            var finishedBefore = inner.Events.Where(e => !e.Started && e.Sequence < start.Sequence).Select(e => e.Key).ToHashSet();
            Assert.True(expectedBefore[version].IsSubsetOf(finishedBefore),
                $"manifest #{version} started before {string.Join(", ", expectedBefore[version].Except(finishedBefore))} were stored");
        }

        Assert.True(inner.MaxConcurrent > 1, "segments were uploaded one at a time");
        Assert.True(inner.MaxConcurrent <= 4, $"{inner.MaxConcurrent} uploads at once, bound 4");
        Assert.EndsWith("#12\n", System.Text.Encoding.UTF8.GetString((await inner.GetAsync("ch/source/index.m3u8", default))!.Data.Span));
    }

    private sealed record PutEvent(long Sequence, string Key, bool Started, byte[] Data);

    /// <summary>Real store, uneven latency, an event log of put start/finish.</summary>
    private sealed class SlowStore(ISegmentStore inner) : ISegmentStore
    {
        private long _sequence;
        private int _concurrent;
        private int _maxConcurrent;

        public ConcurrentQueue<PutEvent> EventsQueue { get; } = new();

        public List<PutEvent> Events => [.. EventsQueue.OrderBy(e => e.Sequence)];

        public int MaxConcurrent => Volatile.Read(ref _maxConcurrent);

        public async ValueTask PutAsync(string key, ReadOnlyMemory<byte> data, string contentType, string? cacheControl, CancellationToken cancellationToken)
        {
            EventsQueue.Enqueue(new PutEvent(Interlocked.Increment(ref _sequence), key, true, data.ToArray()));
            int now = Interlocked.Increment(ref _concurrent);
            int max;
            while (now > (max = Volatile.Read(ref _maxConcurrent)) && Interlocked.CompareExchange(ref _maxConcurrent, now, max) != max) { }
            try
            {
                // Later segments finish sooner, so completion order differs from queue order.
                await Task.Delay(key.EndsWith(".m4s", StringComparison.Ordinal) ? 40 - (data.Length % 30) : 5, cancellationToken);
                await inner.PutAsync(key, data, contentType, cacheControl, cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref _concurrent);
                EventsQueue.Enqueue(new PutEvent(Interlocked.Increment(ref _sequence), key, false, []));
            }
        }

        public ValueTask<StoredObject?> GetAsync(string key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

        public ValueTask DeleteAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken) => inner.DeleteAsync(keys, cancellationToken);

        public IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);
    }
}
