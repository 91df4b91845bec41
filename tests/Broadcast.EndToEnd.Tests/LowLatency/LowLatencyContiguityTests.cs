using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Broadcast.EndToEnd.Tests.Reconnect;
using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.LowLatency;

/// <summary>
/// Walks every part and segment of a low-latency broadcast as a player gets them from the origin, tfdt by tfdt: the
/// shared server's ladder (the source, a transcoded rung and the audio), a looped clip (whose audio steps back 20 ms at
/// every loop, as a looping or restarting encoder's does) and a publisher that drops and reconnects. Within a segment
/// each part starts where the one before ended and the parts add up to the segment byte for byte; each segment starts
/// where the one before ended unless it carries EXT-X-DISCONTINUITY; and every part of a complete segment is a full part
/// (a short final part is what a catching-up hls.js skips, leaving a hole: see PartGrid).
/// It runs with the latency tests, alone, on a server of its own with the default ladder: beside two other lanes of
/// server tests, the transcoder's input queue dropped the first frames after the reconnect (a slow consumer never
/// stalls the publisher), and the rung's first segment then no longer lined up with the source's.
/// </summary>
[Collection(LowLatencyCollection.Name)]
public sealed partial class LowLatencyContiguityTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly ClipSpec Clip = new() { Seconds = 10, Width = 640, Height = 480, Fps = 30, VideoBitrateKbps = 500 };

    private ServerProcess? _server;

    private ServerProcess Server => _server ?? throw new InvalidOperationException("Server not started.");

    public async Task InitializeAsync() => _server = await ServerProcess.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }

    private string WithLog(string message) =>
        $"{message}{Environment.NewLine}--- server log tail ---{Environment.NewLine}{_server?.LogTail() ?? "(server not started)"}";

    private void Check(bool condition, string message)
    {
        if (!condition) Assert.Fail(WithLog(message));
    }

    [Fact]
    public async Task Every_part_and_segment_continues_the_one_before_across_loops_a_reconnect_and_the_ladder()
    {
        var clip = await TestMedia.GetClipAsync(Clip);
        var channel = await Server.Api.CreateChannelAsync($"ll contiguity {Guid.NewGuid():N}", lowLatency: true);
        var walk = new BroadcastWalk(Server, channel.Slug);
        using var stop = new CancellationTokenSource();
        var collecting = walk.CollectAsync(stop.Token);
        try
        {
            await using (var first = FfmpegPublisher.Start(clip, Server.RtmpUrl(channel.StreamKey), loops: 2))
            {
                // Past the second loop point (20 s), where the clip's audio has stepped back twice (40 ms, more than an AAC
                // frame), in every rendition; then the connection drops.
                await WaitFor.ConditionAsync(() => Task.FromResult(walk.Renditions.Count >= 3 && walk.Renditions.All(r => walk.SegmentCount(r) >= 12)),
                    TimeSpan.FromSeconds(120), "twelve segments in every rendition", () => WithLog($"{walk.Describe()}\n{first.Log.Tail(15)}"));
                first.Stop();
            }
            await WaitFor.ConditionAsync(async () => await Playlists.IsReconnectingAsync(Server, channel.Id),
                TimeSpan.FromSeconds(30), "the channel to show as reconnecting", () => WithLog(walk.Describe()));
            await using (var second = FfmpegPublisher.Start(clip, Server.RtmpUrl(channel.StreamKey), loops: 1))
            {
                await WaitFor.ConditionAsync(() => Task.FromResult(walk.Renditions.All(r => walk.SegmentsAfterDiscontinuity(r) >= 6)),
                    TimeSpan.FromSeconds(120), "six segments after the reconnect in every rendition", () => WithLog($"{walk.Describe()}\n{second.Log.Tail(15)}"));
            }
        }
        finally
        {
            await stop.CancelAsync();
            await collecting;
        }
        Check(walk.Error is null, $"the walk failed: {walk.Error}");

        int checkedSegments = 0;
        var problems = new List<string>();
        foreach (var rendition in walk.Renditions)
        {
            var segments = walk.Segments(rendition);
            for (int i = 0; i < segments.Count; i++)
            {
                var s = segments[i];
                if (i > 0 && s.Number != segments[i - 1].Number + 1)
                    problems.Add($"{rendition} {s.Number}: follows {segments[i - 1].Number}");
                else if (i > 0 && !s.Discontinuity && s.Timing.DecodeTime != segments[i - 1].Timing.End)
                    problems.Add($"{rendition} {s.Number}: starts at {s.Timing.DecodeTime}, segment {segments[i - 1].Number} ended at {segments[i - 1].Timing.End} ({s.Timing.DecodeTime - segments[i - 1].Timing.End:+#;-#} ticks)");
                if (s.Parts is not { } parts) continue;
                checkedSegments++;
                long expected = s.Timing.DecodeTime;
                for (int p = 0; p < parts.Count; p++)
                {
                    if (parts[p].Timing.DecodeTime != expected)
                        problems.Add($"{rendition} {s.Number}.{p}: starts at {parts[p].Timing.DecodeTime}, expected {expected} ({parts[p].Timing.DecodeTime - expected:+#;-#} ticks)");
                    expected = parts[p].Timing.End;
                    // RFC 8216bis 4.4.4.9: at most the Part Target. Every part of a segment that the next one continues
                    // is a full part, the final one included (the first part of a broadcast or after a join may be short).
                    if (parts[p].Seconds > walk.PartTargetSeconds + 0.0005)
                        problems.Add($"{rendition} {s.Number}.{p}: {parts[p].Seconds:0.000} s, longer than PART-TARGET {walk.PartTargetSeconds:0.000}");
                    bool continued = i + 1 < segments.Count && !segments[i + 1].Discontinuity;
                    if (continued && p > 0 && parts[p].Seconds < 0.85 * walk.PartTargetSeconds)
                        problems.Add($"{rendition} {s.Number}.{p}: {parts[p].Seconds:0.000} s, shorter than 85 % of PART-TARGET {walk.PartTargetSeconds:0.000}");
                }
                if (expected != s.Timing.End) problems.Add($"{rendition} {s.Number}: its parts end at {expected}, the segment at {s.Timing.End}");
                if (!s.Bytes.AsSpan().SequenceEqual(parts.SelectMany(p => p.Bytes).ToArray()))
                    problems.Add($"{rendition} {s.Number}: the segment is not the concatenation of its {parts.Count} parts");
            }
        }
        output.WriteLine($"{checkedSegments} segments checked part by part; PART-TARGET {walk.PartTargetSeconds:0.000} s\n{walk.Describe()}");
        Check(problems.Count == 0, $"{problems.Count} contiguity problems:\n{string.Join("\n", problems.Take(40))}\n{walk.Describe()}");
        // Parts are listed for two segments after their own: the walk saw the parts of nearly every segment.
        int total = walk.Renditions.Sum(r => walk.Segments(r).Count);
        Check(checkedSegments >= total * 3 / 4, $"only {checkedSegments} of {total} segments had their parts checked\n{walk.Describe()}");
        Check(walk.Renditions.All(r => walk.Segments(r).Count(s => s.Discontinuity) == 1),
            $"expected one discontinuity per rendition (the reconnect)\n{walk.Describe()}");
    }

    private sealed record Media(string Name, byte[] Bytes, FragmentTiming Timing, int Timescale)
    {
        public double Seconds => Timing.Duration / (double)Timescale;
    }

    private sealed record Segment(long Number, bool Discontinuity, byte[] Bytes, FragmentTiming Timing, IReadOnlyList<Media>? Parts);

    /// <summary>
    /// Polls every rendition's live playlist (a few times a second, until cancelled) and fetches each segment and part it
    /// lists once, through the origin. A segment's part list is the one a playlist showed with the segment complete.
    /// </summary>
    private sealed partial class BroadcastWalk(ServerProcess server, string slug)
    {
        private readonly object _gate = new();
        private readonly Dictionary<string, byte[]> _objects = new(StringComparer.Ordinal);
        private readonly Dictionary<string, SortedDictionary<long, (string Name, bool Discontinuity, List<string>? Parts)>> _listed = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _timescales = new(StringComparer.Ordinal);
        private readonly List<string> _renditions = [];

        public string? Error { get; private set; }

        public double PartTargetSeconds { get; private set; }

        public IReadOnlyList<string> Renditions { get { lock (_gate) return _renditions.ToArray(); } }

        public int SegmentCount(string rendition) { lock (_gate) return _listed.TryGetValue(rendition, out var l) ? l.Count : 0; }

        public int SegmentsAfterDiscontinuity(string rendition)
        {
            lock (_gate)
            {
                if (!_listed.TryGetValue(rendition, out var l)) return 0;
                return l.Values.SkipWhile(s => !s.Discontinuity).Count();
            }
        }

        public string Describe()
        {
            lock (_gate)
            {
                var sb = new StringBuilder();
                foreach (var r in _renditions)
                {
                    sb.Append(r).Append(": ");
                    if (_listed.TryGetValue(r, out var l))
                        sb.AppendJoin(' ', l.Select(s => $"{(s.Value.Discontinuity ? "|" : "")}{s.Key}{(s.Value.Parts is { } p ? $"({p.Count})" : "")}"));
                    sb.Append('\n');
                }
                return sb.ToString();
            }
        }

        public IReadOnlyList<Segment> Segments(string rendition)
        {
            lock (_gate)
            {
                var result = new List<Segment>();
                int timescale = _timescales[rendition];
                foreach (var (number, s) in _listed[rendition])
                {
                    var bytes = _objects[$"{rendition}/{s.Name}"];
                    var parts = s.Parts?.Select(p => _objects[$"{rendition}/{p}"]).Select((b, i) => new Media(s.Parts[i], b, FragmentTiming.Read(b), timescale)).ToList();
                    result.Add(new Segment(number, s.Discontinuity, bytes, FragmentTiming.Read(bytes), parts));
                }
                return result;
            }
        }

        public async Task CollectAsync(CancellationToken cancellationToken)
        {
            try
            {
                while (!cancellationToken.IsCancellationRequested)
                {
                    await PollAsync().ConfigureAwait(false);
                    try { await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false); }
                    catch (OperationCanceledException) { break; }
                }
                await PollAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or InvalidDataException or IOException or TaskCanceledException)
            {
                Error = e.ToString();
            }
        }

        private async Task PollAsync()
        {
            if (Renditions.Count == 0)
            {
                using var master = await server.Viewer.GetAsync(server.Absolute($"/live/{slug}/master.m3u8")).ConfigureAwait(false);
                if (!master.IsSuccessStatusCode) return;
                var names = MediaPlaylistUri().Matches(await master.Content.ReadAsStringAsync().ConfigureAwait(false)).Select(m => m.Groups[1].Value).Distinct().ToList();
                lock (_gate) _renditions.AddRange(names);
            }
            foreach (var rendition in Renditions)
            {
                using var response = await server.Viewer.GetAsync(server.Absolute($"/live/{slug}/{rendition}/index.m3u8")).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode) continue;
                await ReadPlaylistAsync(rendition, await response.Content.ReadAsStringAsync().ConfigureAwait(false)).ConfigureAwait(false);
            }
        }

        private async Task ReadPlaylistAsync(string rendition, string playlist)
        {
            if (PartTarget().Match(playlist) is { Success: true } target)
                PartTargetSeconds = double.Parse(target.Groups[1].Value, CultureInfo.InvariantCulture);
            var parts = new List<string>();
            bool discontinuity = false;
            foreach (var line in playlist.Split('\n'))
            {
                if (line == "#EXT-X-DISCONTINUITY") discontinuity = true;
                else if (PartUri().Match(line) is { Success: true } part)
                {
                    parts.Add(part.Groups[1].Value);
                    await FetchAsync(rendition, part.Groups[1].Value).ConfigureAwait(false);
                }
                else if (SegmentName().Match(line) is { Success: true } segment)
                {
                    long number = long.Parse(segment.Groups[1].Value, CultureInfo.InvariantCulture);
                    await FetchAsync(rendition, line).ConfigureAwait(false);
                    lock (_gate)
                    {
                        if (!_listed.TryGetValue(rendition, out var list)) _listed[rendition] = list = new();
                        // Parts listed right before a segment's URI are all of that segment's parts (section 4.4.4.9).
                        var known = list.TryGetValue(number, out var k) ? k.Parts : null;
                        list[number] = (line, discontinuity, parts.Count > 0 ? parts.ToList() : known);
                    }
                    parts.Clear();
                    discontinuity = false;
                }
            }
        }

        private async Task FetchAsync(string rendition, string name)
        {
            lock (_gate)
            {
                if (_objects.ContainsKey($"{rendition}/{name}")) return;
            }
            var bytes = await server.Viewer.GetByteArrayAsync(server.Absolute($"/live/{slug}/{rendition}/{name}")).ConfigureAwait(false);
            if (!_timescales.ContainsKey(rendition))
            {
                string init = name[..name.LastIndexOf('-')] + "-init.mp4";
                var initBytes = await server.Viewer.GetByteArrayAsync(server.Absolute($"/live/{slug}/{rendition}/{init}")).ConfigureAwait(false);
                var mdhd = Mp4BoxReader.Read(initBytes).First(b => b.Type == "moov").Find("trak/mdia/mdhd");
                lock (_gate) _timescales[rendition] = (int)mdhd.ReadUInt32(mdhd.Version == 1 ? 20 : 12);
            }
            lock (_gate) _objects[$"{rendition}/{name}"] = bytes;
        }

        [GeneratedRegex(@"(?:^|URI="")([\w-]+)/index\.m3u8", RegexOptions.Multiline)]
        private static partial Regex MediaPlaylistUri();

        [GeneratedRegex(@"^#EXT-X-PART:.*URI=""([^""]+)""")]
        private static partial Regex PartUri();

        [GeneratedRegex(@"^\w+-(\d+)\.m4s$")]
        private static partial Regex SegmentName();

        [GeneratedRegex(@"#EXT-X-PART-INF:PART-TARGET=([\d.]+)")]
        private static partial Regex PartTarget();
    }
}
