using System.Globalization;
using System.Text.RegularExpressions;
using Broadcast.Control.Clips;
using Broadcast.Packager.Manifests;
using Broadcast.Storage;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Clips.Tests;

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
    private readonly FakeClipTable _clips = new(Broadcast);

    public ClipEndsTests() => _store = new FileSystemSegmentStore(Path.Combine(_dir.Path, "store"));

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// Six seconds of real media in source and audio, stored under the packager's names, with the live playlists. With
    /// <paramref name="bFrames"/> the video has two B-frames and the segments are timed as the packager times them: tfdt the
    /// decode time, positive composition offsets, no edit list, 90 kHz, so a segment's first picture is presented two
    /// frames after its start.
    /// </summary>
    private async Task StoreMediaAsync(bool bFrames = false)
    {
        string[] timing = bFrames ? ["-hls_segment_options", "use_editlist=0:video_track_timescale=90000"] : [];
        foreach (var (rendition, input) in new[]
        {
            ("source", new[] { "-f", "lavfi", "-i", "color=c=black:s=160x120:r=30:d=6,format=yuv420p,geq=lum='mod(N,60)*4':cb=128:cr=128",
                "-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0", "-bf", bFrames ? "2" : "0" }),
            ("audio", new[] { "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=6", "-c:a", "aac", "-b:a", "96k" }),
        })
        {
            string dir = Path.Combine(_dir.Path, rendition);
            Directory.CreateDirectory(dir);
            MediaTools.Run("ffmpeg", [.. new[] { "-hide_banner", "-loglevel", "error", "-y" }, .. input, "-f", "hls", "-hls_segment_type", "fmp4", .. timing,
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

    private ClipFinisher Finisher() => new(_store, _clips, new ClipFinishSettings("ffmpeg", Path.Combine(_dir.Path, "work")),
        TimeProvider.System, NullLogger<ClipFinisher>.Instance);

    private async Task<ClipCutResult> MakeAsync(string id, DateTimeOffset from, DateTimeOffset to) =>
        await new StoreClipMedia(_store, _clips, Finisher()).WriteAsync(
            new ClipCutRequest(Slug, id, null, ClipPoint.Time(from), ClipPoint.Time(to), TimeSpan.FromMinutes(5)), default);

    private string PathOf(string key) => Path.Combine(_dir.Path, "store", key);

    /// <summary>The number (luma / 4) of the first picture of the clip's video, and how long ffprobe says the clip lasts.</summary>
    private (int First, double Seconds) Probe(string playlistKey)
    {
        string file = PathOf(playlistKey);
        string[] input = file.EndsWith(".m3u8", StringComparison.Ordinal) ? ["-allowed_extensions", "ALL", "-i", file] : ["-i", file];
        string stats = MediaTools.Run("ffmpeg", [.. new[] { "-hide_banner", "-loglevel", "error" }, .. input, "-frames:v", "1",
            "-vf", "signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-", "-f", "null", "-"]);
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

        Assert.True(await Finisher().CutAsync(new ClipFinishJob(Slug, "clip-a", from, to), default));

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
        // It lists the video's span from its own first frame: Shaka ends every rendition at the least sum (#66).
        Assert.Equal(Listed(video), Listed(audio));
    }

    private static TimeSpan Listed(StoredMediaPlaylist playlist) => playlist.Segments.Aggregate(TimeSpan.Zero, (sum, s) => sum + s.Duration);

    [Fact]
    public async Task A_one_segment_clip_is_one_piece_and_a_clip_on_the_boundaries_needs_no_cut()
    {
        await StoreMediaAsync();
        var from = T0.AddMilliseconds(2500);
        var to = T0.AddMilliseconds(3500);
        await MakeAsync("clip-b", from, to);
        Assert.True(await Finisher().CutAsync(new ClipFinishJob(Slug, "clip-b", from, to), default));
        var (first, seconds) = Probe(StoreKeys.ClipMediaPlaylist(Slug, "clip-b", "source"));
        Assert.Equal(15, first);
        Assert.InRange(seconds, 1 - 1 / 30.0, 1 + 1 / 30.0);

        await MakeAsync("clip-c", T0.AddSeconds(2), T0.AddSeconds(4));
        string before = await File.ReadAllTextAsync(PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-c", "source")));
        Assert.True(await Finisher().CutAsync(new ClipFinishJob(Slug, "clip-c", T0.AddSeconds(2), T0.AddSeconds(4)), default));
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
        Assert.False(await Finisher().CutAsync(new ClipFinishJob(Slug, "clip-d", from, to), default));
        Assert.False(Directory.Exists(PathOf(StoreKeys.ClipFolder(Slug, "clip-d"))) &&
            Directory.EnumerateFiles(PathOf(StoreKeys.ClipFolder(Slug, "clip-d")), "*", SearchOption.AllDirectories).Any());

        _clips.Deleted = false;
        await MakeAsync("clip-e", from, to);
        string before = await File.ReadAllTextAsync(PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-e", "source")));
        await _store.PutAsync(StoreKeys.Segment(Slug, "source", Broadcast, 1), new byte[] { 1, 2, 3 }, ContentTypes.VideoMp4, "no-store", default);
        await Assert.ThrowsAsync<InvalidOperationException>(() => Finisher().CutAsync(new ClipFinishJob(Slug, "clip-e", from, to), default));
        Assert.Equal(before, await File.ReadAllTextAsync(PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-e", "source"))));
        Assert.False(_clips.Cut.ContainsKey("clip-e"));
    }

    [Fact]
    public async Task Finishing_cuts_the_ends_then_stores_an_mp4_of_the_range_to_the_frame_and_records_its_size()
    {
        await StoreMediaAsync();
        var from = T0.AddMilliseconds(1300);
        var to = T0.AddMilliseconds(4500);
        await MakeAsync("clip-f", from, to);
        await Finisher().FinishAsync(new ClipFinishJob(Slug, "clip-f", from, to), default);

        Assert.Equal((from, to), _clips.Cut["clip-f"]);
        string mp4 = PathOf(StoreKeys.ClipDownload(Slug, "clip-f"));
        Assert.Equal(new FileInfo(mp4).Length, _clips.Downloads["clip-f"]);
        // Made from the stored segments, not the cut pieces: the same frame starts it, and it lasts the range to the frame.
        Assert.Equal(39, Probe(StoreKeys.ClipDownload(Slug, "clip-f")).First);
        Assert.Equal("h264,aac", MediaTools.Run("ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", mp4)
            .Trim().Replace('\n', ','));
        Assert.Equal("96", MediaTools.Run("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
            "stream=nb_read_frames", "-of", "csv=p=0", mp4).Trim());
        Assert.Empty(Directory.GetDirectories(Path.Combine(_dir.Path, "work")));
    }

    [Fact]
    public async Task A_clip_deleted_while_its_download_was_made_keeps_no_mp4()
    {
        await StoreMediaAsync();
        var from = T0.AddMilliseconds(2500);
        var to = T0.AddMilliseconds(3500);
        await MakeAsync("clip-g", from, to);
        _clips.Deleted = true;
        await Finisher().FinishAsync(new ClipFinishJob(Slug, "clip-g", from, to), default);
        Assert.False(File.Exists(PathOf(StoreKeys.ClipDownload(Slug, "clip-g"))));
        Assert.False(_clips.Downloads.ContainsKey("clip-g"));
    }

    [Fact]
    public async Task A_clip_a_stopped_node_had_cut_but_not_finished_is_finished_when_a_node_starts()
    {
        await StoreMediaAsync();
        var from = T0.AddMilliseconds(1300);
        var to = T0.AddMilliseconds(4500);
        var made = await MakeAsync("clip-h", from, to);
        // The node stopped after the cut, before the download: the cut playlists name pieces, the kept ones the stored segments.
        Assert.True(await Finisher().CutAsync(new ClipFinishJob(Slug, "clip-h", from, to), default));
        Assert.True(File.Exists(PathOf(StoreKeys.ClipStoredSegments(Slug, "clip-h", "source"))));
        var clip = new Clip("clip-h", "channel-1", "Clip", Broadcast, from, to, made.FirstSegment, made.LastSegment, DateTimeOffset.UtcNow,
            DateTimeOffset.UtcNow) { Asked = (from, to), FrameAccurate = true };
        _clips.Unfinished.Add((Slug, clip));
        _clips.Unfinished.Add((Slug, clip with { Id = "clip-old", CreatedAt = DateTimeOffset.UtcNow.AddDays(-2) }));

        using var finisher = Finisher();
        await finisher.StartAsync(default);
        try
        {
            await WaitFor.ConditionAsync(() => Task.FromResult(_clips.Finished.ContainsKey("clip-h")), TimeSpan.FromMinutes(2),
                "the clip to be finished");
        }
        finally
        {
            await finisher.StopAsync(default);
        }
        Assert.False(_clips.Finished.ContainsKey("clip-old"));
        Assert.Equal(new FileInfo(PathOf(StoreKeys.ClipDownload(Slug, "clip-h"))).Length, _clips.Downloads["clip-h"]);
        Assert.Equal(39, Probe(StoreKeys.ClipDownload(Slug, "clip-h")).First);
        Assert.Equal(39, Probe(StoreKeys.ClipMediaPlaylist(Slug, "clip-h", "source")).First);

        // Deleting it weighs the segments the cut ends replaced too (the kept playlists name them): the broadcast has
        // ended unrecorded, the next one replaced its playlists and no other clip holds them, so every one goes.
        await _store.DeleteAsync([StoreKeys.MediaPlaylist(Slug, "source"), StoreKeys.MediaPlaylist(Slug, "audio")], default);
        await new StoreClipMedia(_store, _clips).DeleteAsync(Slug, clip, withSegments: true, default);
        Assert.False(Directory.Exists(PathOf(StoreKeys.ClipFolder(Slug, "clip-h"))) &&
            Directory.EnumerateFiles(PathOf(StoreKeys.ClipFolder(Slug, "clip-h"))).Any());
        for (int n = 1; n <= 3; n++) Assert.False(File.Exists(PathOf(StoreKeys.Segment(Slug, "source", Broadcast, n))), $"segment {n}");
    }

    /// <summary>The presentation times (seconds, in presentation order) of an init + media segment pair in the store, and where the last ends.</summary>
    private (double[] Presented, double End) Timeline(string initKey, string segmentKey)
    {
        string file = Path.Combine(_dir.Path, Guid.NewGuid().ToString("N") + ".mp4");
        File.WriteAllBytes(file, [.. File.ReadAllBytes(PathOf(initKey)), .. File.ReadAllBytes(PathOf(segmentKey))]);
        var packets = MediaTools.Run("ffprobe", "-v", "error", "-show_entries", "packet=pts_time,duration_time", "-of", "csv=p=0", file)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split(',').Select(v => double.TryParse(v, CultureInfo.InvariantCulture, out double d) ? d : double.NaN).ToArray())
            .ToList();
        // ffprobe leaves out the duration of a fragment's first AAC frame (N/A); the last frame's is always there.
        return ([.. packets.Select(p => p[0]).Order()], packets.Where(p => !double.IsNaN(p[1])).Max(p => p[0] + p[1]));
    }

    [Fact]
    public async Task A_b_frame_sources_ends_are_presented_where_the_stored_timeline_puts_them_and_join_it_end_to_end()
    {
        await StoreMediaAsync(bFrames: true);
        var from = T0.AddMilliseconds(1300);
        var to = T0.AddMilliseconds(4500);
        await MakeAsync("clip-i", from, to);
        Assert.True(await Finisher().CutAsync(new ClipFinishJob(Slug, "clip-i", from, to), default));

        // The frames are those asked for, as from a source without B-frames.
        var (first, seconds) = Probe(StoreKeys.ClipMediaPlaylist(Slug, "clip-i", "source"));
        Assert.Equal(39, first);
        Assert.InRange(seconds, 3.2 - 1 / 30.0, 3.2 + 1 / 30.0);
        string folder = StoreKeys.ClipFolder(Slug, "clip-i");
        const double Exact = 1e-5;
        foreach (string rendition in new[] { "source", "audio" })
        {
            string playlist = await File.ReadAllTextAsync(PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-i", rendition)));
            // One timeline: nothing tells a player to map a piece afresh by its decode time.
            Assert.DoesNotContain("#EXT-X-DISCONTINUITY", playlist, StringComparison.Ordinal);
            string init = StoreKeys.Init(Slug, rendition, Broadcast, 0);
            var stored = Enumerable.Range(1, 3).Select(n => Timeline(init, StoreKeys.Segment(Slug, rendition, Broadcast, n))).ToArray();
            var head = Timeline(folder + rendition + "/first-init.mp4", folder + rendition + "/first.m4s");
            var tail = Timeline(folder + rendition + "/last-init.mp4", folder + rendition + "/last.m4s");
            if (rendition == "source")
            {
                // The stored segments' first picture is presented two frames after their start: the B-frames are there.
                Assert.InRange(stored[1].Presented[0] - 2, 2 / 30.0 - Exact, 2 / 30.0 + Exact);
                // The head piece's first picture (the first segment's frame 39) is presented when the stored one was; the
                // tail piece's first when the third segment's; each joins its stored neighbour exactly.
                Assert.Equal(21, head.Presented.Length);
                Assert.InRange(head.Presented[0], stored[0].Presented[39] - Exact, stored[0].Presented[39] + Exact);
                Assert.Equal(15, tail.Presented.Length);
                Assert.InRange(tail.Presented[0], stored[2].Presented[0] - Exact, stored[2].Presented[0] + Exact);
                Assert.InRange(tail.End, stored[2].Presented[15] - Exact, stored[2].Presented[15] + Exact);
            }
            else
            {
                // Copied AAC frames are presented when the stored ones were.
                Assert.Contains(stored[0].Presented, t => Math.Abs(t - head.Presented[0]) < Exact);
                Assert.InRange(tail.Presented[0], stored[2].Presented[0] - Exact, stored[2].Presented[0] + Exact);
            }
            Assert.InRange(head.End, stored[1].Presented[0] - Exact, stored[1].Presented[0] + Exact);
            Assert.InRange(tail.Presented[0], stored[1].End - Exact, stored[1].End + Exact);
        }
    }

    [GeneratedRegex(@"YAVG=([0-9.]+)")]
    private static partial Regex Luma();
}
