using System.Globalization;
using System.Text.RegularExpressions;
using Broadcast.Media;
using Broadcast.Packager.Live;
using Broadcast.Storage;
using Broadcast.TestSupport;
using Microsoft.Extensions.Options;

namespace Broadcast.Packager.Tests.Live;

/// <summary>
/// The finished-broadcast event carries what a recording holds (<see cref="RecordedMedia"/>), counted as the packager
/// stored it: checked here against the store itself, the sizes of every object of the recording on disk and the EXTINF
/// values of the VOD playlist the recording's master names first.
/// </summary>
public sealed partial class RecordedMediaTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_finished_event_counts_the_recordings_bytes_and_duration_as_stored(bool lowLatency)
    {
        await using var rig = await Rig.StartAsync(new PackagerOptions { SegmentSeconds = 2, WindowSegments = 3, RecordByDefault = true, LowLatencyByDefault = lowLatency },
            Path.Combine(_dir.Path, "media"));
        var store = rig.Store;
        Assert.True(rig.Registry.TryStartPublish("chan", out var stream));
        var video = TestMedia.Video();
        var audio = TestMedia.Audio();
        long audioCount = 0;
        // 7.5 s: three whole 2 s segments and a short last one; frame sizes vary so no two segments weigh the same.
        for (int i = 0; i < 225; i++)
        {
            stream.Write(TestMedia.Frame(video, i * 3000L, i % 60 == 0, 300 + i % 23));
            while (audioCount <= (long)Math.Floor(i * 1.6)) stream.Write(TestMedia.Frame(audio, audioCount++ * 1024L, true, 20 + (int)(audioCount % 7)));
        }
        rig.Registry.EndPublish(stream);
        var result = await rig.Finished.Task.WaitAsync(Bound);

        var recorded = Assert.IsType<RecordedMedia>(result.Recording);
        string id = result.Status.BroadcastId;
        string root = Path.Combine(_dir.Path, "media");
        // Every object of the recording: its folder and the files named after the broadcast, low-latency parts aside
        // (the VOD manifests name none; they leave the store after the grace period).
        var objects = Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .Where(k => k.StartsWith($"chan/recordings/{id}/", StringComparison.Ordinal)
                || Path.GetFileName(k).StartsWith(id + "-", StringComparison.Ordinal) || Path.GetFileName(k) == id + ".m3u8")
            .Where(k => !PartFile().IsMatch(k))
            .ToList();
        Assert.Contains($"chan/source/{id}.m3u8", objects);
        Assert.Contains($"chan/audio/{id}-init.mp4", objects);
        Assert.Equal(objects.Sum(k => new FileInfo(store.PathOf(k)).Length), recorded.Bytes);
        if (lowLatency) Assert.Contains(Directory.GetFiles(root, "*", SearchOption.AllDirectories), f => PartFile().IsMatch(f));

        // The duration is the first variant's, as its VOD playlist lists it: integer ticks that its EXTINFs round.
        string master = await File.ReadAllTextAsync(store.PathOf(StoreKeys.RecordingMaster("chan", id)));
        string first = master.Split('\n').First(l => l.Length > 0 && !l.StartsWith('#'));
        Assert.Equal($"../../source/{id}.m3u8", first);
        var extinf = (await File.ReadAllTextAsync(store.PathOf($"chan/source/{id}.m3u8"))).Split('\n')
            .Where(l => l.StartsWith("#EXTINF:", StringComparison.Ordinal))
            .Select(l => decimal.Parse(l["#EXTINF:".Length..].TrimEnd(','), CultureInfo.InvariantCulture))
            .ToList();
        Assert.Equal(4, extinf.Count);
        Assert.Equal(Timescales.Video, recorded.Timescale);
        Assert.Equal(224 * 3000L + 3000, recorded.DurationTicks); // 225 frames of 1/30 s
        decimal seconds = (decimal)recorded.DurationTicks / recorded.Timescale;
        Assert.InRange(extinf.Sum() - seconds, -0.0005m * extinf.Count, 0.0005m * extinf.Count);
        Assert.Equal(7500, recorded.DurationMilliseconds);
    }

    [Fact]
    public async Task An_unrecorded_broadcast_finishes_without_a_recording()
    {
        await using var rig = await Rig.StartAsync(new PackagerOptions { SegmentSeconds = 2, WindowSegments = 3, RecordByDefault = false },
            Path.Combine(_dir.Path, "media"));
        Assert.True(rig.Registry.TryStartPublish("chan", out var stream));
        var video = TestMedia.Video();
        for (int i = 0; i < 90; i++) stream.Write(TestMedia.Frame(video, i * 3000L, i % 60 == 0, 300));
        rig.Registry.EndPublish(stream);

        var result = await rig.Finished.Task.WaitAsync(Bound);
        Assert.False(result.Status.Recording);
        Assert.Equal(2, result.Status.SegmentsWritten);
        Assert.Null(result.Recording);
    }

    /// <summary>A started <see cref="LivePackager"/> on a filesystem store, with the first <see cref="LivePackager.StreamFinished"/>.</summary>
    private sealed record Rig(LivePackager Packager, LiveStreamRegistry Registry, FileSystemSegmentStore Store, TaskCompletionSource<BroadcastFinished> Finished)
        : IAsyncDisposable
    {
        public static async Task<Rig> StartAsync(PackagerOptions options, string root)
        {
            var registry = new LiveStreamRegistry();
            var store = new FileSystemSegmentStore(root);
            var packager = new LivePackager(registry, store, new DefaultRecordingPolicy(Options.Create(options)), Options.Create(options),
                TimeProvider.System, new ListLogger<LivePackager>(), lowLatency: new DefaultLowLatencyPolicy(Options.Create(options)));
            var finished = new TaskCompletionSource<BroadcastFinished>(TaskCreationOptions.RunContinuationsAsynchronously);
            packager.StreamFinished += f => finished.TrySetResult(f);
            await packager.StartAsync(default);
            return new Rig(packager, registry, store, finished);
        }

        public ValueTask DisposeAsync() => Packager.DisposeAsync();
    }

    [GeneratedRegex(@"-\d+\.\d+\.m4s$")]
    private static partial Regex PartFile();
}
