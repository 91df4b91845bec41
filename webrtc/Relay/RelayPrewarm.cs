using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Broadcast.WebRtc.Whep;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.WebRtc.Relay;

/// <summary>The body of <c>GET /internal/realtime/live</c>: an ingest node's live real-time channels.</summary>
public sealed record LiveRealTimeChannels(IReadOnlyList<string> Channels);

/// <summary>
/// An origin-only node warms the real-time channels its ingest nodes have live, as an ingest node does at their publish
/// (<see cref="WhepPrewarm"/>): every <see cref="Interval"/> it asks each node of <see cref="WhepOptions.RelayFrom"/> for its
/// list (<see cref="RealTimeFeedEndpoints.LivePath"/>) and holds those channels warm, their relay, RTP ffmpeg and keyframe
/// cache running and Janus started, so a channel's first viewer on this node waits for none of them. A channel no longer
/// listed is let go (its feed stops <see cref="WhepOptions.IdleStop"/> later unless viewers hold it); a node that does not
/// answer keeps its last list for <see cref="MissedAnswersKept"/> rounds, so a slow answer does not drop warm channels.
/// </summary>
public sealed partial class RelayPrewarm(ChannelRelays relays, WhepService whep, ILogger<RelayPrewarm> logger) : BackgroundService
{
    internal static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);
    internal const int MissedAnswersKept = 3;

    /// <summary>Most channels taken from one answer: a list past it is a broken node, not a schedule.</summary>
    internal const int MaxChannels = 10_000;

    private readonly Dictionary<Uri, string> _problems = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!whep.Enabled) return;
        var held = new HashSet<string>(StringComparer.Ordinal);
        var lastAnswers = new Dictionary<Uri, (HashSet<string> Channels, int Missed)>();
        using var timer = new PeriodicTimer(Interval);
        try
        {
            do
            {
                var live = new HashSet<string>(StringComparer.Ordinal);
                foreach (var source in relays.Sources)
                {
                    var answer = await AskAsync(source, stoppingToken).ConfigureAwait(false);
                    if (answer is not null) lastAnswers[source] = (answer, 0);
                    else if (lastAnswers.TryGetValue(source, out var last) && last.Missed < MissedAnswersKept) lastAnswers[source] = (last.Channels, last.Missed + 1);
                    else lastAnswers.Remove(source);
                    if (lastAnswers.TryGetValue(source, out var kept)) live.UnionWith(kept.Channels);
                }

                foreach (string channel in live.Except(held)) whep.HoldWarm(channel);
                foreach (string channel in held.Except(live)) whep.ReleaseWarm(channel);
                held = live;
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            foreach (string channel in held) whep.ReleaseWarm(channel);
        }
    }

    /// <summary>The node's live real-time channels, or null when it cannot say now (logged once per new reason).</summary>
    private async Task<HashSet<string>?> AskAsync(Uri source, CancellationToken stoppingToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(source, RealTimeFeedEndpoints.LivePath.TrimStart('/')));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", relays.Credential.Token);
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        attempt.CancelAfter(Interval);
        string problem;
        try
        {
            using var response = await relays.Http.SendAsync(request, attempt.Token).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadFromJsonAsync<LiveRealTimeChannels>(attempt.Token).ConfigureAwait(false);
                if (body?.Channels is { Count: <= MaxChannels } channels && channels.All(IsChannelName))
                {
                    if (_problems.Remove(source)) LogAnswering(source.ToString());
                    return new HashSet<string>(channels, StringComparer.Ordinal);
                }

                problem = "its list of live real-time channels is malformed";
            }
            else
            {
                problem = $"it answered {(int)response.StatusCode} (is Playback:NodeToken the same on both nodes?)";
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException or NotSupportedException)
        {
            problem = e is OperationCanceledException ? $"no answer within {Interval.TotalSeconds:0} s" : e.Message;
        }

        if (!_problems.TryGetValue(source, out var known) || known != problem)
        {
            _problems[source] = problem;
            LogNotAnswering(source.ToString(), problem);
        }

        return null;
    }

    private static bool IsChannelName(string? name) => name is { Length: > 0 and <= 200 } && !name.Contains('/', StringComparison.Ordinal);

    [LoggerMessage(EventId = 8225, Level = LogLevel.Warning, Message = "Real-time relay: ingest node {Source} does not say which real-time channels are live ({Reason}); they warm on their first viewer here")]
    private partial void LogNotAnswering(string source, string reason);

    [LoggerMessage(EventId = 8226, Level = LogLevel.Information, Message = "Real-time relay: ingest node {Source} answers again; its live real-time channels are warmed here")]
    private partial void LogAnswering(string source);
}
