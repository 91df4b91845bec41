using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using Broadcast.Control.Clips;
using Broadcast.Packager.Manifests;
using Broadcast.Storage;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Server.Tests.Clips;

/// <summary>
/// A clip's ends cut to the frame by the real ffmpeg over a filesystem store holding real CMAF media laid out as the
/// packager stores it: three 2 s segments of 30 fps video whose frames carry their number within the segment as their
/// brightness (luma 4·n), and AAC audio beside them. The clip is made segment-accurate first, then cut.
/// </summary>
public sealed partial class ClipEndsTests : IDisposable
{
    private const string Slug = "show";
    private const string Broadcast = "20261121T054512Z";
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 5, 45, 12, TimeSpan.Zero);
    private readonly TempDirectory _dir = new("clip-ends");
    private readonly FileSystemSegmentStore _store;
    private readonly CutClips _clips = new();

    public ClipEndsTests() => _store = new FileSystemSegmentStore(Path.Combine(_dir.Path, "store"));

    public void Dispose() => _dir.Dispose();

    /// <summary>The clips table as the cutter sees it: the ranges it records; a clip deleted meanwhile is not found.</summary>
    private sealed class CutClips : IClipRepository
    {
        public ConcurrentDictionary<string, (DateTimeOffset From, DateTimeOffset To)> Cut { get; } = new();

        public bool Deleted { get; set; }

        public Task<bool> SetCutAsync(string id, DateTimeOffset startsAt, DateTimeOffset endsAt, CancellationToken cancellationToken = default)
        {
            if (Deleted) return Task.FromResult(false);
            Cut[id] = (startsAt, endsAt);
            return Task.FromResult(true);
        }

        public Task<IReadOnlyList<(long First, long Last)>> HeldRangesAsync(string channelSlug, string broadcastId,
            CancellationToken cancellationToken = default) => Task.FromResult<IReadOnlyList<(long, long)>>([]);

        public Task<bool> TryInsertAsync(Clip clip, int maxPerChannel, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<Clip?> GetAsync(string channelId, string id, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<IReadOnlyList<Clip>> ListAsync(string channelId, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<bool> UpdateTitleAsync(string channelId, string id, string title, DateTimeOffset updatedAt,
            CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<bool> DeleteAsync(string channelId, string id, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }

    /// <summary>Six seconds of real media in source and audio, stored under the packager's names, with the live playlists.</summary>
    private async Task StoreMediaAsync()
    {
        foreach (var (rendition, input) in new[]
        {
            ("source", new[] { "-f", "lavfi", "-i", "color=c=black:s=160x120:r=30:d=6,format=yuv420p,geq=lum='mod(N,60)*4':cb=128:cr=128",
                "-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0" }),
            ("audio", new[] { "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=6", "-c:a", "aac", "-b:a", "96k" }),
        })
        {
            string dir = Path.Combine(_dir.Path, rendition);
            Directory.CreateDirectory(dir);
            MediaTools.Run("ffmpeg", [.. new[] { "-hide_banner", "-loglevel", "error", "-y" }, .. input, "-f", "hls", "-hls_segment_type", "fmp4",
                "-hls_time", "2", "-hls_list_size", "0", "-hls_fmp4_init_filename", "init.mp4", "-hls_segment_filename",
                Path.Combine(dir, "seg%d.m4s"), Path.Combine(dir, "out.m3u8")]);
            await _store.PutAsync(StoreKeys.Init(Slug, rendition, Broadcast, 0), await File.ReadAllBytesAsync(Path.Combine(dir, "init.mp4")),
                ContentTypes.VideoMp4, "no-store", default);
            for (int n = 1; n <= 3; n++)
                await _store.PutAsync(StoreKeys.Segment(Slug, rendition, Broadcast, n), await File.ReadAllBytesAsync(Path.Combine(dir, $"seg{n - 1}.m4s")),
                    ContentTypes.VideoMp4, "no-store", default);
            await _store.PutAsync(StoreKeys.MediaPlaylist(Slug, rendition), System.Text.Encoding.UTF8.GetBytes(ClipMediaTests.Window(1, 3)),
                ContentTypes.Hls, "no-store", default);
        }
        await _store.PutAsync(StoreKeys.Master(Slug), System.Text.Encoding.UTF8.GetBytes(ClipMediaTests.Master), ContentTypes.Hls, "no-store", default);
    }

    private ClipEndsCutter Cutter() => new(_store, _clips, new ClipEndsSettings("ffmpeg", Path.Combine(_dir.Path, "work")),
        NullLogger<ClipEndsCutter>.Instance);

    private async Task<ClipCutResult> MakeAsync(string id, DateTimeOffset from, DateTimeOffset to) =>
        await new StoreClipMedia(_store, _clips, Cutter()).WriteAsync(
            new ClipCutRequest(Slug, id, null, ClipPoint.Time(from), ClipPoint.Time(to), TimeSpan.FromMinutes(5)), default);

    private string PathOf(string key) => Path.Combine(_dir.Path, "store", key);

    /// <summary>The number (luma / 4) of the first picture of the clip's video, and how long ffprobe says the clip lasts.</summary>
    private (int First, double Seconds) Probe(string playlistKey)
    {
        string file = PathOf(playlistKey);
        string stats = MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-allowed_extensions", "ALL", "-i", file, "-frames:v", "1",
            "-vf", "signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-", "-f", "null", "-");
        var luma = Luma().Match(stats);
        string duration = MediaTools.Run("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", file).Trim();
        return (luma.Success ? (int)Math.Round(double.Parse(luma.Groups[1].Value, CultureInfo.InvariantCulture) / 4) : -1,
            double.Parse(duration, CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Both_ends_are_cut_to_the_frames_asked_for_and_the_row_takes_the_exact_range()
    {
        await StoreMediaAsync();
        var from = T0.AddMilliseconds(1300);
        var to = T0.AddMilliseconds(4500);
        var made = await MakeAsync("clip-a", from, to);
        Assert.Equal((T0, T0.AddSeconds(6)), (made.StartsAt, made.EndsAt));
        Assert.Equal((from, to), made.Asked);
        Assert.Equal((0, 6.0), (Probe(StoreKeys.ClipMediaPlaylist(Slug, "clip-a", "source")).First,
            Math.Round(Probe(StoreKeys.ClipMediaPlaylist(Slug, "clip-a", "source")).Seconds)));

        Assert.True(await Cutter().CutAsync(new ClipEndsJob(Slug, "clip-a", from, to), default));

        Assert.Equal((from, to), _clips.Cut["clip-a"]);
        var video = StoredMediaPlaylist.Parse(await File.ReadAllTextAsync(PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-a", "source"))));
        Assert.Equal((from, to), (video.Start!.Value, video.End!.Value));
        Assert.Equal(["source/first.m4s", "../../source/20261121T054512Z-2.m4s", "source/last.m4s"], video.Segments.Select(s => s.Uri));
        // 1.3 s into the first 30 fps segment is its frame 39; the clip lasts 3.2 s to within a frame.
        var (first, seconds) = Probe(StoreKeys.ClipMediaPlaylist(Slug, "clip-a", "source"));
        Assert.Equal(39, first);
        Assert.InRange(seconds, 3.2 - 1 / 30.0, 3.2 + 1 / 30.0);
        // The audio is cut at the same ends, on AAC frame boundaries.
        var audio = StoredMediaPlaylist.Parse(await File.ReadAllTextAsync(PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-a", "audio"))));
        Assert.Equal(3, audio.Segments.Count);
        Assert.InRange((audio.End!.Value - audio.Start!.Value).TotalSeconds, 3.2 - 0.1, 3.2 + 0.1);
        Assert.True(File.Exists(PathOf(StoreKeys.ClipFolder(Slug, "clip-a") + "audio/last-init.mp4")));
    }

    [Fact]
    public async Task A_one_segment_clip_is_one_piece_and_a_clip_on_the_boundaries_needs_no_cut()
    {
        await StoreMediaAsync();
        var from = T0.AddMilliseconds(2500);
        var to = T0.AddMilliseconds(3500);
        await MakeAsync("clip-b", from, to);
        Assert.True(await Cutter().CutAsync(new ClipEndsJob(Slug, "clip-b", from, to), default));
        var (first, seconds) = Probe(StoreKeys.ClipMediaPlaylist(Slug, "clip-b", "source"));
        Assert.Equal(15, first);
        Assert.InRange(seconds, 1 - 1 / 30.0, 1 + 1 / 30.0);

        await MakeAsync("clip-c", T0.AddSeconds(2), T0.AddSeconds(4));
        string before = await File.ReadAllTextAsync(PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-c", "source")));
        Assert.True(await Cutter().CutAsync(new ClipEndsJob(Slug, "clip-c", T0.AddSeconds(2), T0.AddSeconds(4)), default));
        Assert.Equal(before, await File.ReadAllTextAsync(PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-c", "source"))));
        Assert.Equal((T0.AddSeconds(2), T0.AddSeconds(4)), _clips.Cut["clip-c"]);
    }

    [Fact]
    public async Task A_clip_deleted_while_it_was_cut_leaves_nothing_and_a_damaged_segment_leaves_it_segment_accurate()
    {
        await StoreMediaAsync();
        var from = T0.AddMilliseconds(1300);
        var to = T0.AddMilliseconds(4500);
        await MakeAsync("clip-d", from, to);
        _clips.Deleted = true;
        Assert.False(await Cutter().CutAsync(new ClipEndsJob(Slug, "clip-d", from, to), default));
        Assert.False(Directory.Exists(PathOf(StoreKeys.ClipFolder(Slug, "clip-d"))) &&
            Directory.EnumerateFiles(PathOf(StoreKeys.ClipFolder(Slug, "clip-d")), "*", SearchOption.AllDirectories).Any());

        _clips.Deleted = false;
        await MakeAsync("clip-e", from, to);
        string before = await File.ReadAllTextAsync(PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-e", "source")));
        await _store.PutAsync(StoreKeys.Segment(Slug, "source", Broadcast, 1), new byte[] { 1, 2, 3 }, ContentTypes.VideoMp4, "no-store", default);
        await Assert.ThrowsAsync<InvalidOperationException>(() => Cutter().CutAsync(new ClipEndsJob(Slug, "clip-e", from, to), default));
        Assert.Equal(before, await File.ReadAllTextAsync(PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-e", "source"))));
        Assert.False(_clips.Cut.ContainsKey("clip-e"));
    }

    [GeneratedRegex(@"YAVG=([0-9.]+)")]
    private static partial Regex Luma();
}
