using System.Globalization;
using Broadcast.Control.Clips;
using Broadcast.Packager.Manifests;
using Broadcast.Storage;
using Broadcast.TestSupport;

namespace Broadcast.Clips.Tests;

/// <summary>
/// A clip's ends cut to the frame by the real ffmpeg over a filesystem store holding real CMAF media laid out as the
/// packager stores it (<see cref="StoredClipMedia"/>: three 2 s segments of 30 fps video whose frames carry their number
/// within the segment as their brightness, luma 4·n, and AAC audio beside them). The clip is made segment-accurate first,
/// then cut.
/// </summary>
[Trait("Kind", "Component")]
public sealed class ClipEndsTests : IDisposable
{
    private const string Slug = StoredClipMedia.Slug;
    private const string Broadcast = StoredClipMedia.Broadcast;
    private static readonly DateTimeOffset T0 = StoredClipMedia.T0;
    private readonly StoredClipMedia _media = new("clip-ends");

    public void Dispose() => _media.Dispose();

    [Fact]
    public async Task Both_ends_are_cut_to_the_frames_asked_for_and_the_row_takes_the_exact_range()
    {
        await _media.StoreAsync();
        var from = T0.AddMilliseconds(1300);
        var to = T0.AddMilliseconds(4500);
        var made = await _media.MakeAsync("clip-a", from, to);
        Assert.Equal((T0, T0.AddSeconds(6)), (made.StartsAt, made.EndsAt));
        Assert.Equal((from, to), made.Asked);
        Assert.Equal((0, 6.0), (_media.Probe(StoreKeys.ClipMediaPlaylist(Slug, "clip-a", "source")).First,
            Math.Round(_media.Probe(StoreKeys.ClipMediaPlaylist(Slug, "clip-a", "source")).Seconds)));

        Assert.True(await _media.Finisher().CutAsync(new ClipFinishJob(Slug, "clip-a", from, to), default));

        Assert.Equal((from, to), _media.Clips.Cut["clip-a"]);
        var video = StoredMediaPlaylist.Parse(await File.ReadAllTextAsync(_media.PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-a", "source"))));
        Assert.Equal((from, to), (video.Start!.Value, video.End!.Value));
        Assert.Equal(["source/first.m4s", "../../source/20261121T054512Z-2.m4s", "source/last.m4s"], video.Segments.Select(s => s.Uri));
        // 1.3 s into the first 30 fps segment is its frame 39; the clip lasts 3.2 s to within a frame.
        var (first, seconds) = _media.Probe(StoreKeys.ClipMediaPlaylist(Slug, "clip-a", "source"));
        Assert.Equal(39, first);
        Assert.InRange(seconds, 3.2 - 1 / 30.0, 3.2 + 1 / 30.0);
        // The audio is cut at the same ends, on AAC frame boundaries.
        var audio = StoredMediaPlaylist.Parse(await File.ReadAllTextAsync(_media.PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-a", "audio"))));
        Assert.Equal(3, audio.Segments.Count);
        Assert.InRange((audio.End!.Value - audio.Start!.Value).TotalSeconds, 3.2 - 0.1, 3.2 + 0.1);
        Assert.True(File.Exists(_media.PathOf(StoreKeys.ClipFolder(Slug, "clip-a") + "audio/last-init.mp4")));
        // It lists the video's span from its own first frame: Shaka ends every rendition at the least sum (#66).
        Assert.Equal(Listed(video), Listed(audio));
    }

    private static TimeSpan Listed(StoredMediaPlaylist playlist) => playlist.Segments.Aggregate(TimeSpan.Zero, (sum, s) => sum + s.Duration);

    [Fact]
    public async Task A_one_segment_clip_is_one_piece_and_a_clip_on_the_boundaries_needs_no_cut()
    {
        await _media.StoreAsync();
        var from = T0.AddMilliseconds(2500);
        var to = T0.AddMilliseconds(3500);
        await _media.MakeAsync("clip-b", from, to);
        Assert.True(await _media.Finisher().CutAsync(new ClipFinishJob(Slug, "clip-b", from, to), default));
        var (first, seconds) = _media.Probe(StoreKeys.ClipMediaPlaylist(Slug, "clip-b", "source"));
        Assert.Equal(15, first);
        Assert.InRange(seconds, 1 - 1 / 30.0, 1 + 1 / 30.0);

        await _media.MakeAsync("clip-c", T0.AddSeconds(2), T0.AddSeconds(4));
        string before = await File.ReadAllTextAsync(_media.PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-c", "source")));
        Assert.True(await _media.Finisher().CutAsync(new ClipFinishJob(Slug, "clip-c", T0.AddSeconds(2), T0.AddSeconds(4)), default));
        Assert.Equal(before, await File.ReadAllTextAsync(_media.PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-c", "source"))));
        Assert.Equal((T0.AddSeconds(2), T0.AddSeconds(4)), _media.Clips.Cut["clip-c"]);
    }

    [Fact]
    public async Task A_clip_deleted_while_it_was_cut_leaves_nothing_and_a_damaged_segment_leaves_it_segment_accurate()
    {
        await _media.StoreAsync();
        var from = T0.AddMilliseconds(1300);
        var to = T0.AddMilliseconds(4500);
        await _media.MakeAsync("clip-d", from, to);
        _media.Clips.Deleted = true;
        Assert.False(await _media.Finisher().CutAsync(new ClipFinishJob(Slug, "clip-d", from, to), default));
        Assert.False(Directory.Exists(_media.PathOf(StoreKeys.ClipFolder(Slug, "clip-d"))) &&
            Directory.EnumerateFiles(_media.PathOf(StoreKeys.ClipFolder(Slug, "clip-d")), "*", SearchOption.AllDirectories).Any());

        _media.Clips.Deleted = false;
        await _media.MakeAsync("clip-e", from, to);
        string before = await File.ReadAllTextAsync(_media.PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-e", "source")));
        await _media.Store.PutAsync(StoreKeys.Segment(Slug, "source", Broadcast, 1), new byte[] { 1, 2, 3 }, ContentTypes.VideoMp4, "no-store", default);
        await Assert.ThrowsAsync<InvalidOperationException>(() => _media.Finisher().CutAsync(new ClipFinishJob(Slug, "clip-e", from, to), default));
        Assert.Equal(before, await File.ReadAllTextAsync(_media.PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-e", "source"))));
        Assert.False(_media.Clips.Cut.ContainsKey("clip-e"));
    }

    [Fact]
    public async Task Finishing_cuts_the_ends_then_stores_an_mp4_of_the_range_to_the_frame_and_records_its_size()
    {
        await _media.StoreAsync();
        var from = T0.AddMilliseconds(1300);
        var to = T0.AddMilliseconds(4500);
        await _media.MakeAsync("clip-f", from, to);
        await _media.Finisher().FinishAsync(new ClipFinishJob(Slug, "clip-f", from, to), default);

        Assert.Equal((from, to), _media.Clips.Cut["clip-f"]);
        string mp4 = _media.PathOf(StoreKeys.ClipDownload(Slug, "clip-f"));
        Assert.Equal(new FileInfo(mp4).Length, _media.Clips.Downloads["clip-f"]);
        // Made from the stored segments, not the cut pieces: the same frame starts it, and it lasts the range to the frame.
        Assert.Equal(39, _media.Probe(StoreKeys.ClipDownload(Slug, "clip-f")).First);
        Assert.Equal("h264,aac", MediaTools.Run("ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", mp4)
            .Trim().Replace('\n', ','));
        Assert.Equal("96", MediaTools.Run("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
            "stream=nb_read_frames", "-of", "csv=p=0", mp4).Trim());
        Assert.Empty(Directory.GetDirectories(Path.Combine(_media.Root, "work")));
    }

    [Fact]
    public async Task A_clip_deleted_while_its_download_was_made_keeps_no_mp4()
    {
        await _media.StoreAsync();
        var from = T0.AddMilliseconds(2500);
        var to = T0.AddMilliseconds(3500);
        await _media.MakeAsync("clip-g", from, to);
        _media.Clips.Deleted = true;
        await _media.Finisher().FinishAsync(new ClipFinishJob(Slug, "clip-g", from, to), default);
        Assert.False(File.Exists(_media.PathOf(StoreKeys.ClipDownload(Slug, "clip-g"))));
        Assert.False(_media.Clips.Downloads.ContainsKey("clip-g"));
    }

    [Fact]
    public async Task A_clip_a_stopped_node_had_cut_but_not_finished_is_finished_when_a_node_starts()
    {
        await _media.StoreAsync();
        var from = T0.AddMilliseconds(1300);
        var to = T0.AddMilliseconds(4500);
        var made = await _media.MakeAsync("clip-h", from, to);
        // The node stopped after the cut, before the download: the cut playlists name pieces, the kept ones the stored segments.
        Assert.True(await _media.Finisher().CutAsync(new ClipFinishJob(Slug, "clip-h", from, to), default));
        Assert.True(File.Exists(_media.PathOf(StoreKeys.ClipStoredSegments(Slug, "clip-h", "source"))));
        var clip = new Clip("clip-h", "channel-1", "Clip", Broadcast, from, to, made.FirstSegment, made.LastSegment, DateTimeOffset.UtcNow,
            DateTimeOffset.UtcNow) { Asked = (from, to), FrameAccurate = true };
        _media.Clips.Unfinished.Add((Slug, clip));
        _media.Clips.Unfinished.Add((Slug, clip with { Id = "clip-old", CreatedAt = DateTimeOffset.UtcNow.AddDays(-2) }));

        using var finisher = _media.Finisher();
        await finisher.StartAsync(default);
        try
        {
            await WaitFor.ConditionAsync(() => Task.FromResult(_media.Clips.Finished.ContainsKey("clip-h")), TimeSpan.FromMinutes(2),
                "the clip to be finished");
        }
        finally
        {
            await finisher.StopAsync(default);
        }
        Assert.False(_media.Clips.Finished.ContainsKey("clip-old"));
        Assert.Equal(new FileInfo(_media.PathOf(StoreKeys.ClipDownload(Slug, "clip-h"))).Length, _media.Clips.Downloads["clip-h"]);
        Assert.Equal(39, _media.Probe(StoreKeys.ClipDownload(Slug, "clip-h")).First);
        Assert.Equal(39, _media.Probe(StoreKeys.ClipMediaPlaylist(Slug, "clip-h", "source")).First);

        // Deleting it weighs the segments the cut ends replaced too (the kept playlists name them): the broadcast has
        // ended unrecorded, the next one replaced its playlists and no other clip holds them, so every one goes.
        await _media.Store.DeleteAsync([StoreKeys.MediaPlaylist(Slug, "source"), StoreKeys.MediaPlaylist(Slug, "audio")], default);
        await new StoreClipMedia(_media.Store, _media.Clips).DeleteAsync(Slug, clip, withSegments: true, default);
        Assert.False(Directory.Exists(_media.PathOf(StoreKeys.ClipFolder(Slug, "clip-h"))) &&
            Directory.EnumerateFiles(_media.PathOf(StoreKeys.ClipFolder(Slug, "clip-h"))).Any());
        for (int n = 1; n <= 3; n++) Assert.False(File.Exists(_media.PathOf(StoreKeys.Segment(Slug, "source", Broadcast, n))), $"segment {n}");
    }

    /// <summary>The presentation times (seconds, in presentation order) of an init + media segment pair in the store, and where the last ends.</summary>
    private (double[] Presented, double End) Timeline(string initKey, string segmentKey)
    {
        string file = Path.Combine(_media.Root, Guid.NewGuid().ToString("N") + ".mp4");
        File.WriteAllBytes(file, [.. File.ReadAllBytes(_media.PathOf(initKey)), .. File.ReadAllBytes(_media.PathOf(segmentKey))]);
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
        await _media.StoreAsync(bFrames: true);
        var from = T0.AddMilliseconds(1300);
        var to = T0.AddMilliseconds(4500);
        await _media.MakeAsync("clip-i", from, to);
        Assert.True(await _media.Finisher().CutAsync(new ClipFinishJob(Slug, "clip-i", from, to), default));

        // The frames are those asked for, as from a source without B-frames.
        var (first, seconds) = _media.Probe(StoreKeys.ClipMediaPlaylist(Slug, "clip-i", "source"));
        Assert.Equal(39, first);
        Assert.InRange(seconds, 3.2 - 1 / 30.0, 3.2 + 1 / 30.0);
        string folder = StoreKeys.ClipFolder(Slug, "clip-i");
        const double Exact = 1e-5;
        foreach (string rendition in new[] { "source", "audio" })
        {
            string playlist = await File.ReadAllTextAsync(_media.PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-i", rendition)));
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
}
