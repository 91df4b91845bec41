using System.Net;
using System.Text.Json;
using Broadcast.Control.Analytics;
using Broadcast.Control.Playback;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Tests.Analytics;

/// <summary>
/// An origin-only node's forwarder against a stand-in control node (a message handler, a manual clock): a bucket's
/// broadcasts batched into posts under the cap (never a broadcast split), the node token on each, a post retried each
/// bucket while the control node fails and dropped (logged, event 7205) once past the bound, a refused post dropped at once,
/// and the waiting posts bounded.
/// </summary>
public sealed class AudienceForwarderTests
{
    private const string NodeToken = "test-playback-node-token-forwarder-0123456789";
    private static readonly DateTimeOffset Start = new(2026, 11, 30, 6, 0, 0, TimeSpan.Zero);
    private static readonly RemotePlaybackSettings Settings = new(new Uri("http://control.test/"), TimeSpan.FromSeconds(5), NodeToken);

    private sealed class Source(Func<long, IReadOnlyList<LiveAudienceSample>> samples) : IAudienceSource
    {
        public ValueTask<IReadOnlyList<LiveAudienceSample>> SampleAsync(long bucketStart, CancellationToken cancellationToken) =>
            ValueTask.FromResult(samples(bucketStart));
    }

    private sealed class ControlNode : HttpMessageHandler
    {
        public HttpStatusCode Answer { get; set; } = HttpStatusCode.NoContent;

        public bool Unreachable { get; set; }

        public List<(string? Authorization, AudienceNodePost Post)> Taken { get; } = [];

        public int Asked { get; private set; }

        /// <summary>The latest post's body as sent.</summary>
        public string Json { get; private set; } = "";

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Asked++;
            if (Unreachable) throw new HttpRequestException("connection refused");
            Assert.Equal(AudienceNodeEndpoint.Path, request.RequestUri!.AbsolutePath);
            Json = await request.Content!.ReadAsStringAsync(cancellationToken);
            var post = JsonSerializer.Deserialize(Json, Api.ControlJsonContext.Default.AudienceNodePost)!;
            if (Answer is HttpStatusCode.NoContent) Taken.Add((request.Headers.Authorization?.ToString(), post));
            return new HttpResponseMessage(Answer);
        }
    }

    private sealed class RecordingLog : ILogger<AudienceForwarder>
    {
        public List<(int Id, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((eventId.Id, formatter(state, exception)));
    }

    private static LiveAudienceSample Sample(string channel, long bucket, int viewers) =>
        new(channel, "b-" + channel, viewers, viewers, 0, 0,
            [.. Enumerable.Range(0, viewers).Select(i => new LiveViewer((ulong)(i + 1), bucket - 10, bucket, "hls"))], Uncounted: 1);

    [Fact]
    public void A_bucket_is_batched_whole_broadcasts_under_the_cap_and_a_broadcast_over_it_keeps_the_cap()
    {
        long t = Start.ToUnixTimeSeconds();
        var posts = AudienceForwarder.Batch("origin-1", t, [Sample("a", t, 3), Sample("b", t, 2), Sample("c", t, 9), Sample("d", t, 0)], cap: 5);

        Assert.Equal([["a", "b"], ["c", "d"]], posts.Select(p => p.Broadcasts!.Select(b => b.Channel!).ToArray()));
        Assert.All(posts, p => Assert.True(p.Broadcasts!.Sum(b => b.Sessions!.Count) <= 5));
        Assert.All(posts, p => Assert.Equal(("origin-1", t), (p.Node, p.Bucket)));
        var c = posts[1].Broadcasts![0];
        // Nine viewers, a cap of five: five named, the four others uncounted with the one the node counted so.
        Assert.Equal((5, 5, 1L + 4), (c.Sessions!.Count, c.Viewers, c.Uncounted));
        Assert.Equal(("b-c", 1UL, t - 10, t, "hls"), (c.BroadcastId, c.Sessions[0].Key, c.Sessions[0].First, c.Sessions[0].Last, c.Sessions[0].Delivery));
        Assert.Empty(AudienceForwarder.Batch("origin-1", t, [], cap: 5));
    }

    [Fact]
    public void A_broadcasts_rungs_are_sent_once_each_and_its_viewers_name_them_by_index()
    {
        long t = Start.ToUnixTimeSeconds();
        var sample = new LiveAudienceSample("a", "b-a", 3, 3, 0, 0,
            [new LiveViewer(1, t, t, "hls", Rung: "720p"), new LiveViewer(2, t, t, "hls"), new LiveViewer(3, t, t, "hls", Rung: "480p"),
                new LiveViewer(4, t, t, "hls", Rung: "720p")], 0);
        var post = AudienceForwarder.Batch("origin-1", t, [sample, Sample("b", t, 1)], cap: 10).Single();
        var sent = post.Broadcasts!;

        Assert.Equal(["720p", "480p"], sent[0].Rungs!);
        Assert.Equal([0, null, 1, 0], sent[0].Sessions!.Select(v => v.Rung));
        Assert.Null(sent[1].Rungs); // no rung known: the field is left out
        // On the wire: the names once, an index per viewer, nothing for a viewer without one.
        string json = JsonSerializer.Serialize(post, Broadcast.Control.Api.ControlJsonContext.Default.AudienceNodePost);
        Assert.Contains("\"rungs\":[\"720p\",\"480p\"]", json, StringComparison.Ordinal);
        Assert.Equal(3, json.Split("\"rung\":").Length - 1);
        Assert.Single(json.Split("\"rungs\":").Skip(1));
    }

    [Fact]
    public async Task Each_bucket_is_posted_with_the_node_token()
    {
        var clock = new ManualClock(Start + TimeSpan.FromSeconds(11));
        var control = new ControlNode();
        var quality = new PlaybackQualityCounts(2, 1, 1, 1, 700, [0, 1, 0, 0, 0, 0], 2, 3000, 1, 8000, 1, 4, 0);
        // Viewer 1 sent CMCD and stalled, viewer 2 said nothing of CMCD.
        using var forwarder = new AudienceForwarder(new Source(t => [Sample("show", t, 2) with
        {
            Quality = quality,
            Sessions = [new LiveViewer(1, t - 10, t, "hls", Cmcd: true, Stalled: true), new LiveViewer(2, t - 10, t, "hls")],
            NotFound = 3,
        }]), Settings, "origin-1", clock, new RecordingLog(), control);

        Assert.Equal(1, await forwarder.ForwardAsync(Start.ToUnixTimeSeconds(), CancellationToken.None));
        var (authorization, post) = Assert.Single(control.Taken);
        Assert.Equal("Bearer " + NodeToken, authorization);
        Assert.Equal(2, post.Broadcasts!.Single().Sessions!.Count);
        Assert.Equal([(1UL, true, true), (2UL, false, false)], post.Broadcasts!.Single().Sessions!.Select(v => (v.Key, v.Cmcd, v.Stalled)));
        // False flags are left out of the JSON, so a viewer without CMCD costs the post nothing more.
        Assert.Equal(1, control.Json.Split("\"cmcd\":true").Length - 1);
        Assert.DoesNotContain("false", control.Json, StringComparison.Ordinal);
        // The bucket's CMCD quality rides along, every number as sampled.
        var sent = post.Broadcasts!.Single().Quality!;
        Assert.Equal((2L, 1L, 700L, 3000L, 8000L, 1L, 4L), (sent.Sessions, sent.StalledSessions, sent.StartupMsSum, sent.BitrateKbpsSum,
            sent.ThroughputKbpsSum, sent.RungSwitches, sent.MalformedValues));
        Assert.Equal(quality.StartupBins, sent.StartupBins);
        Assert.Null(sent.Problem());
        // The failed requests too; a count of 0 is left out, as an older control node would not know it.
        Assert.Equal((3L, 0L), (post.Broadcasts!.Single().NotFound, post.Broadcasts!.Single().Unavailable));
        Assert.Contains("\"notFound\":3", control.Json, StringComparison.Ordinal);
        Assert.DoesNotContain("unavailable", control.Json, StringComparison.Ordinal);
        Assert.Equal(0, forwarder.Pending);
    }

    [Fact]
    public async Task A_bucket_the_control_node_does_not_take_is_retried_each_bucket_then_dropped_and_logged_past_the_bound()
    {
        var clock = new ManualClock(Start + TimeSpan.FromSeconds(11));
        var control = new ControlNode { Unreachable = true };
        var log = new RecordingLog();
        long first = Start.ToUnixTimeSeconds();
        using var forwarder = new AudienceForwarder(new Source(t => t == first ? [Sample("show", t, 2)] : []), Settings, "origin-1", clock, log, control);

        // Tried at once, then once a bucket while the control node is away, each try one request (the oldest waits first).
        int tries = 0;
        for (long t = first; clock.GetUtcNow().ToUnixTimeSeconds() - (first + 10) <= (long)AudienceForwarder.DeliveryBound.TotalSeconds; t += 10)
        {
            Assert.Equal(0, await forwarder.ForwardAsync(t, CancellationToken.None));
            Assert.Equal(++tries, control.Asked);
            Assert.Equal(1, forwarder.Pending);
            clock.Advance(TimeSpan.FromSeconds(10));
        }

        Assert.InRange(tries, 6, 7);
        Assert.DoesNotContain(log.Entries, e => e.Id == 7205);
        // Past the bound: dropped without another try, and said once with its stable event id.
        Assert.Equal(0, await forwarder.ForwardAsync(first + (10 * tries), CancellationToken.None));
        Assert.Equal(tries, control.Asked);
        Assert.Equal(0, forwarder.Pending);
        var dropped = Assert.Single(log.Entries, e => e.Id == 7205);
        Assert.Contains("2 viewers", dropped.Message, StringComparison.Ordinal);

        // The control node back: a retried bucket is delivered once it answers.
        control.Unreachable = false;
        control.Answer = HttpStatusCode.ServiceUnavailable;
        var later = new AudienceForwarder(new Source(t => [Sample("show", t, 1)]), Settings, "origin-1", clock, log, control);
        using (later)
        {
            long t = clock.GetUtcNow().ToUnixTimeSeconds() / 10 * 10 - 10;
            Assert.Equal(0, await later.ForwardAsync(t, CancellationToken.None));
            control.Answer = HttpStatusCode.NoContent;
            clock.Advance(TimeSpan.FromSeconds(10));
            Assert.Equal(2, await later.ForwardAsync(t + 10, CancellationToken.None));
            Assert.Equal([t, t + 10], control.Taken.Select(p => p.Post.Bucket));
        }
    }

    [Fact]
    public async Task A_refused_post_is_dropped_at_once_and_the_posts_waiting_stay_bounded()
    {
        var clock = new ManualClock(Start + TimeSpan.FromSeconds(11));
        var control = new ControlNode { Answer = HttpStatusCode.BadRequest };
        var log = new RecordingLog();
        long t = Start.ToUnixTimeSeconds();
        using (var forwarder = new AudienceForwarder(new Source(b => [Sample("show", b, 1)]), Settings, "origin-1", clock, log, control))
        {
            Assert.Equal(0, await forwarder.ForwardAsync(t, CancellationToken.None));
            Assert.Equal(0, forwarder.Pending);
            Assert.Contains(log.Entries, e => e.Id == 7205 && e.Message.Contains("400", StringComparison.Ordinal));
        }

        // A bucket of many broadcasts over a cap of one viewer a post: more posts than may wait; the oldest go, logged.
        control.Unreachable = true;
        log.Entries.Clear();
        int broadcasts = AudienceForwarder.MaxPending + 5;
        using var crowded = new AudienceForwarder(new Source(b => [.. Enumerable.Range(0, broadcasts).Select(i => Sample($"c{i}", b, 1))]),
            Settings, "origin-1", clock, log, control, maxSessionsPerPost: 1);
        await crowded.ForwardAsync(t, CancellationToken.None);
        Assert.Equal(AudienceForwarder.MaxPending, crowded.Pending);
        Assert.Equal(5, log.Entries.Count(e => e.Id == 7205));
    }
}
