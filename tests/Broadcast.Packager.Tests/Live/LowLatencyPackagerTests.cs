using Broadcast.TestSupport;
using Broadcast.Packager.Live;
using Broadcast.Packager.Manifests;
using Broadcast.Storage;

namespace Broadcast.Packager.Tests.Live;

/// <summary>A low-latency broadcast through <see cref="StreamPackager"/>: parts stored beside their segments, LL playlists.</summary>
public sealed class LowLatencyPackagerTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static async Task FeedAsync(StreamPackager p, ManualClock time, int from, int to, int gop = 60)
    {
        var video = TestMedia.Video();
        var audio = TestMedia.Audio();
        for (int i = from; i < to; i++)
        {
            // Sizes vary per frame so a part cut in the wrong place cannot match by accident.
            await p.PushVideoAsync(0, TestMedia.Frame(video, i * 3000L, i % gop == 0, 300 + i % 17), default);
            for (long a = (long)Math.Floor((i - 1) * 1.6) + 1; a <= (long)Math.Floor(i * 1.6); a++)
                if (a >= 0) await p.PushAudioAsync(TestMedia.Frame(audio, a * 1024L, true, 20 + (int)(a % 5)), default);
            time.Advance(TimeSpan.FromMilliseconds(1000.0 / 30));
        }
    }

    private (StreamPackager Packager, FileSystemSegmentStore Store, ManualClock Time) Create(bool lowLatency = true, bool record = false, int grace = 60,
        int? partHoldBackTargets = null)
    {
        var time = new ManualClock(new DateTimeOffset(2026, 11, 21, 5, 45, 12, TimeSpan.Zero));
        var store = new FileSystemSegmentStore(_dir.Path);
        var options = new PackagerOptions { SegmentSeconds = 2, WindowSegments = 3, DeleteGraceSeconds = grace, PartSeconds = 0.333m };
        if (partHoldBackTargets is int h) options.PartHoldBackTargets = h;
        return (new StreamPackager(new BroadcastSettings { Channel = "chan", Record = record, LowLatency = lowLatency }, store, options, time), store, time);
    }

    [Fact]
    public async Task Concatenated_parts_are_byte_identical_to_their_segment()
    {
        var (p, store, time) = Create();
        await using var _ = p;
        await FeedAsync(p, time, 0, 9 * 30);
        await p.CompleteAsync(default);

        foreach (var rendition in new[] { "source", "audio" })
        {
            for (long n = 1; n <= 4; n++)
            {
                var segment = await File.ReadAllBytesAsync(store.PathOf(StoreKeys.Segment("chan", rendition, p.BroadcastId, n)));
                var joined = new List<byte>();
                int parts = 0;
                while (File.Exists(store.PathOf($"chan/{rendition}/{LowLatencyPlaylist.PartName(p.BroadcastId, n, parts)}")))
                    joined.AddRange(await File.ReadAllBytesAsync(store.PathOf($"chan/{rendition}/{LowLatencyPlaylist.PartName(p.BroadcastId, n, parts++)}")));
                // 2 s at 0.333 s parts: six or seven parts, never one.
                Assert.InRange(parts, 6, 8);
                Assert.True(segment.AsSpan().SequenceEqual(joined.ToArray()), $"{rendition} segment {n}: {segment.Length} bytes, parts {joined.Count}");
            }
        }
    }

    [Fact]
    public async Task The_default_channel_holds_back_two_part_targets_and_the_setting_moves_it()
    {
        Assert.Equal(2, new PackagerOptions().PartHoldBackTargets);
        var (p, store, time) = Create(partHoldBackTargets: 3);
        await using var _ = p;
        await FeedAsync(p, time, 0, 3 * 30);
        string playlist = await File.ReadAllTextAsync(store.PathOf("chan/source/index.m3u8"));
        Assert.Contains("PART-HOLD-BACK=1.104,", playlist, StringComparison.Ordinal);
        var errors = new PackagerOptionsValidator().Validate(null, new PackagerOptions { PartHoldBackTargets = 1 });
        Assert.True(errors.Failed);
        Assert.Contains("Packager:PartHoldBackTargets", errors.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Parts_are_at_most_the_part_target_and_the_first_of_each_segment_is_independent()
    {
        var (p, store, time) = Create();
        await using var _ = p;
        await FeedAsync(p, time, 0, 7 * 30 + 5);
        string playlist = await File.ReadAllTextAsync(store.PathOf("chan/source/index.m3u8"));
        Assert.StartsWith("#EXTM3U\n#EXT-X-VERSION:9\n", playlist, StringComparison.Ordinal);
        // Six grid cells of 1/3 s per 2 s segment; the declared target is a cell plus 10 % and a millisecond (PartGrid.TargetMilliseconds).
        // PART-HOLD-BACK is two Part Targets by default (RFC 8216bis 4.4.3.8's minimum; #66): stock players sit there.
        Assert.Contains("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.736,CAN-SKIP-UNTIL=12.0\n", playlist, StringComparison.Ordinal);
        Assert.Contains("#EXT-X-PART-INF:PART-TARGET=0.368\n", playlist, StringComparison.Ordinal);
        var parts = playlist.Split('\n').Where(l => l.StartsWith("#EXT-X-PART:", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(parts);
        foreach (var line in parts)
        {
            var duration = decimal.Parse(line.Split(',')[0]["#EXT-X-PART:DURATION=".Length..], System.Globalization.CultureInfo.InvariantCulture);
            // RFC 8216bis 4.4.4.9: at most the target and at least 85 % of it. Here every part is one full cell, the
            // final part of each segment included: a short final part is what a catching-up hls.js skips.
            Assert.InRange(duration, 0.85m * 0.368m, 0.368m);
            Assert.Equal(0.33333m, duration);
        }
        Assert.Contains($"#EXT-X-PART:DURATION=0.33333,URI=\"{p.BroadcastId}-3.0.m4s\",INDEPENDENT=YES\n", playlist, StringComparison.Ordinal);
        Assert.Contains($"URI=\"{p.BroadcastId}-3.1.m4s\"\n", playlist, StringComparison.Ordinal); // mid-GOP: not independent
        // Open segment 4 has three parts (frames 180..206); the next one is hinted.
        Assert.Contains($"#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{p.BroadcastId}-4.3.m4s\"\n", playlist, StringComparison.Ordinal);
        Assert.Contains("#EXT-X-RENDITION-REPORT:URI=\"../audio/index.m3u8\",LAST-MSN=4,LAST-PART=", playlist, StringComparison.Ordinal);
        var position = LowLatencyPlaylist.ReadPosition(System.Text.Encoding.UTF8.GetBytes(playlist));
        Assert.Equal((4L, 3, 2L, true), (position.NextMsn, position.NextPart, position.TargetSeconds, position.HasHint));

        // Ordinary clients: the same segments in the same order as without low latency.
        var segments = playlist.Split('\n').Where(l => l.EndsWith(".m4s", StringComparison.Ordinal) && !l.StartsWith('#')).ToArray();
        Assert.Equal(Enumerable.Range(1, 3).Select(n => $"{p.BroadcastId}-{n}.m4s"), segments);

        await p.CompleteAsync(default);
        string ended = await File.ReadAllTextAsync(store.PathOf("chan/source/index.m3u8"));
        Assert.DoesNotContain("PRELOAD-HINT", ended, StringComparison.Ordinal);
        Assert.EndsWith("#EXT-X-ENDLIST\n", ended, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_low_latency_nothing_changes()
    {
        var (p, store, time) = Create(lowLatency: false);
        await using var _ = p;
        await FeedAsync(p, time, 0, 5 * 30);
        string playlist = await File.ReadAllTextAsync(store.PathOf("chan/source/index.m3u8"));
        Assert.StartsWith("#EXTM3U\n#EXT-X-VERSION:7\n", playlist, StringComparison.Ordinal);
        Assert.DoesNotContain("#EXT-X-PART", playlist, StringComparison.Ordinal);
        Assert.False(File.Exists(store.PathOf($"chan/source/{LowLatencyPlaylist.PartName(p.BroadcastId, 1, 0)}")));
    }

    [Fact]
    public async Task A_recorded_broadcast_keeps_its_segments_but_drops_parts_that_left_the_window()
    {
        var (p, store, time) = Create(record: true, grace: 0);
        await using var _ = p;
        await FeedAsync(p, time, 0, 12 * 30);
        string part = store.PathOf($"chan/source/{LowLatencyPlaylist.PartName(p.BroadcastId, 1, 0)}");
        string recent = store.PathOf($"chan/source/{LowLatencyPlaylist.PartName(p.BroadcastId, 5, 0)}");
        Assert.False(File.Exists(part), "segment 1 left the 3-segment window: its parts go");
        Assert.True(File.Exists(recent));
        Assert.True(File.Exists(store.PathOf(StoreKeys.Segment("chan", "source", p.BroadcastId, 1)))); // the recording keeps it
    }
}
