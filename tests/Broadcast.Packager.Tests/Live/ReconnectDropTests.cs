using System.Globalization;
using System.Text.RegularExpressions;
using Broadcast.Media;
using Broadcast.Packager.Live;
using Broadcast.Storage;
using Broadcast.TestSupport;
using Microsoft.Extensions.Options;

namespace Broadcast.Packager.Tests.Live;

/// <summary>
/// What the packager does at the drop itself (before any reconnect): the segment each rendition has open closes at
/// its last frame and is stored at once (players play up to the live edge during the gap), for the source
/// passthrough and for a transcoded rung (whose producer signals its drained end with <see cref="LiveStream.MarkGap"/>),
/// with passthrough on and off; after the join every rendition goes on with the same next number behind one
/// discontinuity, and no segment spans the gap (the target duration stays). Synthetic 30 fps frames, a keyframe every
/// 2 s, 48 kHz audio; the rung carries the source's timestamps as the transcoder's rungs do. The real ffmpeg ladder
/// across a reconnect is the end-to-end ReconnectLadderTests.
/// </summary>
public sealed partial class ReconnectDropTests : IDisposable
{
    private const int Gop = 60;
    private static readonly DateTimeOffset Start = new(2026, 11, 21, 5, 45, 12, TimeSpan.Zero);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _dir = new();
    private readonly AudioTrack _audio = TestMedia.Audio();
    private long _audioCount;

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Every_rendition_closes_and_stores_its_open_segment_at_the_drop_and_resumes_aligned(bool passthrough)
    {
        var clock = new ManualClock(Start);
        var options = new PackagerOptions { SegmentSeconds = 2, WindowSegments = 10 };
        var registry = new LiveStreamRegistry(clock);
        var store = new FileSystemSegmentStore(Path.Combine(_dir.Path, "media"));
        var log = new ListLogger<LivePackager>();
        var rung = new LiveStream("chan/360p", clock);
        await using var packager = new LivePackager(registry, store, new DefaultRecordingPolicy(Options.Create(options)), Options.Create(options), clock, log,
            new DelegateRenditionSource((s, _) => Task.FromResult<IReadOnlyList<KeyValuePair<string, LiveStream>>>(
                passthrough ? [new("source", s), new("360p", rung)] : [new("360p", rung)])));
        await packager.StartAsync(default);
        string Read(string key) => File.Exists(store.PathOf(key)) ? File.ReadAllText(store.PathOf(key)) : "";
        string[] renditions = passthrough ? ["source", "360p", "audio"] : ["360p", "audio"];
        string Logs()
        {
            lock (log.Lines)
                return string.Join("\n", log.Lines) + "\n" + string.Join("\n", renditions.Select(r => $"--- {r}\n{Read($"chan/{r}/index.m3u8")}"));
        }

        var sourceTrack = TestMedia.Video(1280, 720);
        var rungTrack = TestMedia.Video(640, 360);
        for (int i = 0; i < Gop; i++) rung.Write(TestMedia.Frame(rungTrack, i * 3000L, i == 0, 100));
        Assert.True(registry.TryStartPublish("chan", out var source));
        Feed(source, sourceTrack, null, null, 0, 1, 0);
        await WaitFor.ConditionAsync(() => packager.Find("chan") is not null, Bound, "packaging to start", Logs);
        Feed(source, sourceTrack, null, null, 1, Gop, 0);
        // 5 s: segments 1 and 2 close on the keyframes at 2 s and 4 s; 4..5 s is open at the drop.
        Feed(source, sourceTrack, rung, rungTrack, Gop, 150, 0);
        await WaitFor.ConditionAsync(() => renditions.All(r => Read($"chan/{r}/index.m3u8").Contains("-2.m4s", StringComparison.Ordinal)), Bound,
            "every rendition to list segment 2", Logs);

        // The drop: the hub tells the source's readers; the transcoder tells the rung's once its ffmpeg has drained.
        Assert.True(registry.Interrupt(source, TimeSpan.FromSeconds(30)));
        rung.MarkGap();
        await WaitFor.ConditionAsync(() => renditions.All(r => Read($"chan/{r}/index.m3u8").Contains("-3.m4s", StringComparison.Ordinal)), Bound,
            "every rendition to close segment 3 at the drop", Logs);
        foreach (var r in renditions)
        {
            var text = Read($"chan/{r}/index.m3u8");
            Assert.DoesNotContain("#EXT-X-ENDLIST", text, StringComparison.Ordinal);
            Assert.DoesNotContain("#EXT-X-DISCONTINUITY\n", text, StringComparison.Ordinal);
            // Video frames 120..149: one second, ended at the last frame. The audio keeps all the publisher sent (this
            // feed runs its audio up to 0.1 s ahead of the video).
            Assert.InRange(Durations(text)[^1], 0.97, r == "audio" ? 1.1 : 1.03);
        }

        // The join 5 s later: the hub moves the new publish after the gap; the transcoder's new run carries those times.
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.True(registry.TryStartPublish("chan", out var again));
        Assert.Same(source, again);
        var rungAfter = TestMedia.Video(640, 360);
        _audioCount = 0;
        using (var probe = source.OpenReader("probe"))
        {
            Feed(source, sourceTrack, null, null, 0, 1, 0);
            long shift = long.MinValue;
            while (probe.TryRead(out var f))
            {
                if (f!.Kind == MediaKind.Video) shift = f.Dts;
                f.Release();
            }
            Assert.True(shift > 150 * 3000L, $"the new publish was not moved after the drop: {shift}");
            Feed(null, sourceTrack, rung, rungAfter, 0, 1, shift);
            Feed(source, sourceTrack, rung, rungAfter, 1, 5 * 30, shift);
        }
        await WaitFor.ConditionAsync(() => renditions.All(r => Read($"chan/{r}/index.m3u8").Contains("-5.m4s", StringComparison.Ordinal)), Bound,
            "every rendition to list segment 5 after the join", Logs);

        foreach (var r in renditions)
        {
            var text = Read($"chan/{r}/index.m3u8");
            Assert.True(Regex.Matches(text, "#EXT-X-DISCONTINUITY\n").Count == 1, Logs());
            // The discontinuity sits right before segment 4 in every rendition: boundaries stay aligned.
            Assert.True(Regex.IsMatch(text, @"#EXT-X-DISCONTINUITY\n(#[^\n]*\n)*[^\n#]*-4\.m4s\n"), text);
            Assert.Contains("#EXT-X-TARGETDURATION:2\n", text, StringComparison.Ordinal);
            Assert.All(Durations(text), d => Assert.True(d <= 2.1, $"{r}: a {d} s segment spans the gap\n{text}"));
        }
    }

    /// <summary>Source and/or rung frames [from, to) at 30 fps (the rung's moved by <paramref name="shift"/>), plus the source's audio up to them.</summary>
    private void Feed(LiveStream? source, VideoTrack sourceTrack, LiveStream? rung, VideoTrack? rungTrack, int from, int to, long shift)
    {
        for (int i = from; i < to; i++)
        {
            source?.Write(TestMedia.Frame(sourceTrack, i * 3000L, i % Gop == 0, 400));
            rung?.Write(TestMedia.Frame(rungTrack!, shift + i * 3000L, i % Gop == 0, 100));
            while (source is not null && _audioCount <= (long)Math.Floor(i * 1.6))
                source.Write(TestMedia.Frame(_audio, _audioCount++ * 1024L, true, 20));
        }
    }

    private static List<double> Durations(string playlist) =>
        Extinf().Matches(playlist).Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();

    [GeneratedRegex(@"#EXTINF:([\d.]+),")]
    private static partial Regex Extinf();
}
