using System.Diagnostics;
using System.Globalization;
using Broadcast.EndToEnd.Tests.Server;
using Broadcast.EndToEnd.Tests.Storage;
using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.LowLatency;

/// <summary>
/// Several viewers of one low-latency rendition behind infra/nginx-edge.conf must each learn of every part, and receive
/// it, about when a viewer at the origin does. Their blocking reloads and GETs of a new part arrive together; nginx's
/// cache lock would hold all but the first and look at the lock again only every 500 ms, so behind a lock they come
/// 0–500 ms late (about 200 ms at the median, bench/edge-llhls.sh), which is what stalled Shaka beside hls.js behind
/// the edge while both held their targets at the origin.
/// </summary>
[Collection(LowLatencyCollection.Name)]
public sealed class LowLatencyEdgeViewersTests(LowLatencyServerFixture fixture, ITestOutputHelper output)
{
    private const int Viewers = 6;
    private static readonly TimeSpan Watch = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Behind_the_edge_every_viewer_learns_of_each_part_about_when_a_viewer_at_the_origin_does()
    {
        await using var live = await PublishBehindTheEdgeAsync();
        var (edge, atOrigin, viaEdge) = (live.Edge, live.AtOrigin, live.ViaEdge);

        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 64 };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(20) };
        var clock = Stopwatch.StartNew();
        var probe = new LowLatencyHlsViewer(http, atOrigin, asksForHint: false, clock);
        // Half of them as hls.js (parts as listed), half as Shaka (the preload hint too).
        var viewers = Enumerable.Range(0, Viewers).Select(i => new LowLatencyHlsViewer(http, viaEdge, asksForHint: i % 2 == 1, clock)).ToList();
        using var cancel = new CancellationTokenSource(Watch + TimeSpan.FromSeconds(40));
        await Task.WhenAll(viewers.Select(v => v.RunAsync(Watch, cancel.Token)).Append(probe.RunAsync(Watch, cancel.Token)));

        var learnLate = new List<double>();
        var receiveLate = new List<double>();
        foreach (var v in viewers)
        {
            foreach (var (part, at) in v.Learnt)
                if (probe.Learnt.TryGetValue(part, out var t)) learnLate.Add((at - t).TotalMilliseconds);
            foreach (var (part, at) in v.Received)
                if (probe.Received.TryGetValue(part, out var t)) receiveLate.Add((at - t).TotalMilliseconds);
        }
        learnLate.Sort();
        receiveLate.Sort();
        static double At(List<double> sorted, double q) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))];
        var listedStatus = viewers.Where(v => !v.AsksForHint).SelectMany(v => v.PartCacheStatus)
            .GroupBy(k => k.Key).ToDictionary(g => g.Key, g => g.Sum(k => k.Value));
        string statuses = string.Join(", ", listedStatus.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}"));
        string summary = string.Create(CultureInfo.InvariantCulture,
            $"{probe.Learnt.Count} parts at the origin; behind the edge, learnt later by p50 {At(learnLate, 0.5):0} / p95 {At(learnLate, 0.95):0} / max {At(learnLate, 1):0} ms ({learnLate.Count} samples), received later by p50 {At(receiveLate, 0.5):0} / p95 {At(receiveLate, 0.95):0} ms ({receiveLate.Count}); listed parts' cache status: {statuses}; failures {viewers.Sum(v => v.Failures) + probe.Failures}");
        output.WriteLine(summary);
        string Details() => $"{summary}{Environment.NewLine}--- edge ---{Environment.NewLine}{edge.AccessLogTail(30)}";

        // 15 s at three parts a second: about 45 parts, each learnt by every viewer.
        fixture.Check(probe.Learnt.Count >= 25, $"the probe at the origin learnt of only {probe.Learnt.Count} parts: {Details()}");
        fixture.Check(learnLate.Count >= Viewers * 20, $"the viewers behind the edge learnt of too few of those parts: {Details()}");
        fixture.Check(viewers.Sum(v => v.Failures) + probe.Failures == 0, $"requests failed: {Details()}");
        // Behind a cache lock the median is about 200 ms and the 95th percentile about 470 ms; without it, tens of ms.
        fixture.Check(At(learnLate, 0.5) <= 100 && At(learnLate, 0.95) <= 250,
            $"viewers behind the edge learnt of parts late: {Details()}");
        fixture.Check(At(receiveLate, 0.5) <= 100 && At(receiveLate, 0.95) <= 250,
            $"viewers behind the edge received parts late: {Details()}");
        // The edge still collapses: the hls.js-like viewers' GETs of listed parts are mostly answered from its cache.
        int hits = listedStatus.GetValueOrDefault("HIT");
        fixture.Check(hits * 2 >= listedStatus.Values.Sum(), $"the edge answered only {hits} listed-part GETs from its cache: {Details()}");
    }

    /// <summary>
    /// A blocking reload's answer is cached for the viewers who ask within its max-age; one who asks for the same part
    /// later is behind the live edge and must get every part since from the origin, never the cached answer served
    /// stale: that lists nothing after the part asked for, so a viewer that reloads once per part (Shaka) learnt one
    /// old part per reload and never caught up.
    /// </summary>
    [Fact]
    public async Task Behind_the_edge_a_blocking_reload_asked_again_after_its_answer_expired_lists_the_parts_since()
    {
        await using var live = await PublishBehindTheEdgeAsync();
        var (edge, atOrigin) = (live.Edge, live.AtOrigin);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        string Details() => $"--- edge ---{Environment.NewLine}{edge.AccessLogTail(20)}";

        // Block for the origin's next part through the edge: the first request for that URL, answered when it is stored.
        var next = LowLatencyHlsViewer.Parse(await http.GetStringAsync(atOrigin)).Position;
        var reload = new Uri(edge.BaseUri, string.Create(CultureInfo.InvariantCulture,
            $"{atOrigin.AbsolutePath}?_HLS_msn={next.NextMsn}&_HLS_part={next.NextPart}&_HLS_skip=YES"));
        var first = LowLatencyHlsViewer.Parse(await http.GetStringAsync(reload));
        fixture.Check(first.Parts.Count > 0, $"the blocking reload listed no part: {Details()}");
        string asked = first.Parts[^1];
        var answered = Stopwatch.StartNew();

        // Let its answer expire at the edge while the origin lists four parts after it.
        string newest = await WaitUntilExpiredAndFourPartsPastAsync(http, atOrigin, asked, answered, Details);

        await AskAgainAndExpectTheOriginsAnswerAsync(http, reload, newest,
            $"asked again {answered.Elapsed.TotalSeconds:0.0} s after its first answer, the reload for {asked}", Details);
    }

    /// <summary>
    /// A plain playlist request is what a player makes first, and Shaka ties its live edge to the wall clock once, from
    /// the first playlists it parses: a playlist older than it looks stays as latency for the whole session. When the
    /// edge's copy has expired, the request that finds it so must get the origin's current playlist. With nginx's
    /// background update it got the expired copy, however long ago that was cached (up to the cache's inactive time).
    /// </summary>
    [Fact]
    public async Task Behind_the_edge_a_playlist_asked_for_after_a_quiet_spell_is_the_origins_current_one()
    {
        await using var live = await PublishBehindTheEdgeAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        string Details() => $"--- edge ---{Environment.NewLine}{live.Edge.AccessLogTail(20)}";

        var first = LowLatencyHlsViewer.Parse(await http.GetStringAsync(live.ViaEdge));
        fixture.Check(first.Parts.Count > 0, $"the playlist behind the edge listed no part: {Details()}");
        string cachedNewest = first.Parts[^1];
        var cached = Stopwatch.StartNew();

        // Nobody asks the edge for it while its copy expires and the origin lists four parts after that copy's newest.
        string newest = await WaitUntilExpiredAndFourPartsPastAsync(http, live.AtOrigin, cachedNewest, cached, Details);

        await AskAgainAndExpectTheOriginsAnswerAsync(http, live.ViaEdge, newest,
            $"asked again {cached.Elapsed.TotalSeconds:0.0} s after it was cached with {cachedNewest}, the playlist", Details);
    }

    /// <summary>
    /// Asks the edge for <paramref name="uri"/> again and requires the origin's answer (the edge's copy expired, or none),
    /// listing the origin's <paramref name="newest"/> part, not the expired copy served stale.
    /// </summary>
    private async Task AskAgainAndExpectTheOriginsAnswerAsync(HttpClient http, Uri uri, string newest, string what, Func<string> details)
    {
        using var again = await http.GetAsync(uri);
        string text = await again.Content.ReadAsStringAsync();
        string cache = EdgeNginx.CacheStatus(again);
        var parts = LowLatencyHlsViewer.Parse(text).Parts;
        string? listed = parts.LastOrDefault();
        output.WriteLine($"{what}: {cache}, newest listed {listed}; the origin's newest {newest}");
        fixture.Check(again.IsSuccessStatusCode && (cache is "EXPIRED" or "MISS") && parts.Contains(newest),
            $"{what} was answered {(int)again.StatusCode} ({cache}) listing up to {listed}, not the origin's newest part {newest}:" +
            $"{Environment.NewLine}{text}{Environment.NewLine}{details()}");
    }

    /// <summary>
    /// Waits, asking only the origin, until an edge answer given at <paramref name="answered"/> has expired and the origin
    /// lists four parts after <paramref name="part"/>; returns the origin's newest part. The edge's playlists have a
    /// max-age of 1 s, but nginx keeps time in whole seconds: an answer cached at 12.0 s is still fresh at 13.99 s, so
    /// after 3 s it has expired.
    /// </summary>
    private static async Task<string> WaitUntilExpiredAndFourPartsPastAsync(
        HttpClient http, Uri atOrigin, string part, Stopwatch answered, Func<string> details)
    {
        string newest = part;
        await WaitFor.ConditionAsync(async () =>
        {
            var parts = LowLatencyHlsViewer.Parse(await http.GetStringAsync(atOrigin)).Parts.ToList();
            newest = parts[^1];
            int at = parts.IndexOf(part);
            return answered.Elapsed > TimeSpan.FromSeconds(3) && at >= 0 && parts.Count - 1 - at >= 4;
        }, TimeSpan.FromSeconds(30), $"the origin four parts past {part}", details);
        return newest;
    }

    /// <summary>A low-latency channel being published, with its parts at the origin, and the shared edge in front of it.</summary>
    private async Task<LiveBehindTheEdge> PublishBehindTheEdgeAsync()
    {
        var (channel, publisher) = await fixture.PublishAsync();
        try
        {
            await fixture.WaitForPartsAsync(channel, publisher);
            var edge = await fixture.EdgeAsync();
            var atOrigin = new Uri(PlaybackUrls.Hls(fixture.Server, channel), "source/index.m3u8");
            return new LiveBehindTheEdge(publisher, edge, atOrigin, new Uri(edge.BaseUri, atOrigin.PathAndQuery));
        }
        catch
        {
            await publisher.DisposeAsync();
            throw;
        }
    }

    private sealed record LiveBehindTheEdge(FfmpegPublisher Publisher, EdgeNginx Edge, Uri AtOrigin, Uri ViaEdge) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Publisher.DisposeAsync();
    }
}
