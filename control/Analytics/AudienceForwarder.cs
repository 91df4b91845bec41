using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Broadcast.Control.Api;
using Broadcast.Control.Playback;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Analytics;

/// <summary>
/// On an origin-only node (no database): every 10 s the ended bucket's viewers of each live broadcast this node served,
/// handed to the control node's <see cref="AudienceNodeEndpoint"/> with the playback node token, the credential the node
/// already holds (<see cref="RemotePlaybackSettings"/>). A bucket goes in posts of at most <see cref="AudienceSampler.MaxSessionsPerFlush"/>
/// viewers (a broadcast is never split across posts: the control node replaces a node's sample of a bucket); a broadcast
/// with more keeps the first that many and counts the rest as uncounted, as the sampler does. A post the control node does
/// not take is tried again each bucket until <see cref="DeliveryBound"/> after its bucket ended, and no more than
/// <see cref="MaxPending"/> wait: then it is dropped and logged. It runs beside the viewers' requests, never in their way.
/// </summary>
public sealed class AudienceForwarder(IAudienceSource? source, RemotePlaybackSettings settings, string nodeId, TimeProvider time,
    ILogger<AudienceForwarder> logger, HttpMessageHandler? handler = null, int maxSessionsPerPost = AudienceSampler.MaxSessionsPerFlush)
    : BackgroundService
{
    /// <summary>How long after its bucket a post may still be delivered (six tries, one a bucket).</summary>
    public static readonly TimeSpan DeliveryBound = TimeSpan.FromSeconds(60);

    /// <summary>Posts waiting at most (a bucket's one post, or a few for a large audience, for about a minute).</summary>
    public const int MaxPending = 32;

    private readonly HttpClient _http = new(handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        BaseAddress = settings.ControlUrl,
        // A control node that hangs costs the loop this much a post, never a viewer's request.
        Timeout = TimeSpan.FromSeconds(5),
    };

    private readonly Queue<AudienceNodePost> _pending = new();

    /// <summary>The posts waiting for the control node.</summary>
    public int Pending => _pending.Count;

    /// <summary>
    /// Samples the bucket starting at <paramref name="bucket"/> (Unix seconds) into posts, then delivers what waits, oldest
    /// first, until one fails; the posts delivered. Called by one loop (or a test), never concurrently.
    /// </summary>
    public async Task<int> ForwardAsync(long bucket, CancellationToken cancellationToken)
    {
        if (source is not null)
        {
            foreach (var post in Batch(nodeId, bucket, await source.SampleAsync(bucket, cancellationToken).ConfigureAwait(false), maxSessionsPerPost))
            {
                if (_pending.Count >= MaxPending) Drop(_pending.Dequeue(), "too many posts waiting");
                _pending.Enqueue(post);
            }
        }

        int delivered = 0;
        long now = time.GetUtcNow().ToUnixTimeSeconds();
        while (_pending.TryPeek(out var next))
        {
            if (now - (next.Bucket + AudienceReport.Bucket) > (long)DeliveryBound.TotalSeconds)
            {
                Drop(_pending.Dequeue(), $"not delivered within {DeliveryBound.TotalSeconds} s");
                continue;
            }

            var outcome = await SendAsync(next, cancellationToken).ConfigureAwait(false);
            if (outcome is null)
            {
                _pending.Dequeue();
                delivered++;
            }
            else if (outcome.Value.Final)
            {
                // Refused as it is (400, 401, 413…): sending it again cannot help.
                Drop(_pending.Dequeue(), outcome.Value.Reason);
            }
            else
            {
                AnalyticsLog.ForwardDelayed(logger, next.Bucket, outcome.Value.Reason);
                break;
            }
        }

        return delivered;
    }

    /// <summary>Null when the control node took the post; else why, and whether trying again is useless.</summary>
    private async Task<(string Reason, bool Final)?> SendAsync(AudienceNodePost post, CancellationToken cancellationToken)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, AudienceNodeEndpoint.Path)
            {
                Content = JsonContent.Create(post, ControlJsonContext.Default.AudienceNodePost),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", settings.NodeToken);
            using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode) return null;
            int status = (int)response.StatusCode;
            bool final = status is >= 400 and < 500 && response.StatusCode is not (HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests);
            return ($"the control node answered {status} {response.ReasonPhrase}", final);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return ($"the control node is unreachable: {e.Message}", false);
        }
    }

    private void Drop(AudienceNodePost post, string reason) =>
        AnalyticsLog.ForwardDropped(logger, post.Bucket, post.Broadcasts?.Count ?? 0, post.Broadcasts?.Sum(b => b.Sessions?.Count ?? 0) ?? 0, reason);

    /// <summary>
    /// A bucket's samples as posts of at most <paramref name="cap"/> viewers, whole broadcasts each; a broadcast with more
    /// than the cap keeps the first <paramref name="cap"/> viewers and counts the rest as uncounted.
    /// </summary>
    public static IReadOnlyList<AudienceNodePost> Batch(string node, long bucket, IReadOnlyList<LiveAudienceSample> samples, int cap)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cap, 1);
        var posts = new List<AudienceNodePost>();
        var current = new List<AudienceNodeBroadcast>();
        int inCurrent = 0;
        foreach (var sample in samples)
        {
            int kept = Math.Min(sample.Sessions.Count, cap);
            if (inCurrent + kept > cap || current.Count >= AudienceNodeEndpoint.MaxBroadcastsPerPost)
            {
                posts.Add(new AudienceNodePost(node, bucket, current));
                current = [];
                inCurrent = 0;
            }

            var viewers = new AudienceNodeViewer[kept];
            // The rungs once per broadcast, each viewer's as its index: a name is sent once, not with every viewer.
            var rungs = new List<string>();
            var rungIndex = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < kept; i++)
            {
                var v = sample.Sessions[i];
                int? rung = null;
                if (v.Rung is { } name)
                {
                    if (!rungIndex.TryGetValue(name, out int index)) rungIndex[name] = index = Add(rungs, name);
                    rung = index;
                }

                viewers[i] = new AudienceNodeViewer(v.Key, v.FirstSeen, v.LastSeen, v.Delivery, v.Cmcd, v.Stalled, rung);
            }

            current.Add(new AudienceNodeBroadcast(sample.ChannelSlug, sample.BroadcastId, Math.Min(sample.Viewers, kept), sample.Hls,
                sample.LowLatencyHls, sample.Dash, sample.Whep, sample.Uncounted + (sample.Sessions.Count - kept), viewers, sample.Quality,
                sample.NotFound, sample.Unavailable, rungs.Count == 0 ? null : rungs));
            inCurrent += kept;
        }

        if (current.Count > 0) posts.Add(new AudienceNodePost(node, bucket, current));
        return posts;

        static int Add(List<string> rungs, string name)
        {
            rungs.Add(name);
            return rungs.Count - 1;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (source is not null && !stoppingToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            long current = now.ToUnixTimeSeconds() - (now.ToUnixTimeSeconds() % AudienceReport.Bucket);
            var next = DateTimeOffset.FromUnixTimeSeconds(current + AudienceReport.Bucket) + AudienceSampler.Settle;
            await Task.Delay(next - now, time, stoppingToken).ConfigureAwait(false);
            try
            {
                await ForwardAsync(current, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // Whatever failed, the node goes on serving: a BackgroundService that throws stops its host.
                AnalyticsLog.SampleFailed(logger, e.Message);
            }
        }
    }

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }

    /// <summary>
    /// The forwarder of a node without the database, over the <see cref="IAudienceSource"/> the host adds (none: nothing to
    /// send). Its name in the samples: <c>Ingest:NodeId</c>, else the machine's name and a random suffix per process, so two
    /// origins never share a row (nor take the control node's, which the route refuses).
    /// </summary>
    internal static void AddTo(IServiceCollection services, IConfiguration configuration)
    {
        string node = configuration["Ingest:NodeId"] is { Length: > 0 } id ? id.Trim()
            : $"origin-{Environment.MachineName}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
        services.AddSingleton(sp => new AudienceForwarder(sp.GetService<IAudienceSource>(), sp.GetRequiredService<RemotePlaybackSettings>(), node,
            sp.GetService<TimeProvider>() ?? TimeProvider.System, sp.GetRequiredService<ILogger<AudienceForwarder>>()));
        services.AddHostedService(sp => sp.GetRequiredService<AudienceForwarder>());
    }
}
