using System.Net.Http.Headers;
using System.Text.Json;
using Broadcast.WebRtc.Whep;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.WebRtc.Relay;

/// <summary>The body of <c>GET /internal/realtime/live</c>: an ingest node's live real-time channels.</summary>
public sealed record LiveRealTimeChannels(IReadOnlyList<string> Channels)
{
    /// <summary>Most channels taken from one answer: a list past it is a broken node, not a schedule.</summary>
    public const int MaxChannels = 10_000;

    /// <summary>Longest channel name taken (channel names are URL path segments).</summary>
    public const int MaxNameLength = 200;

    /// <summary>Largest answer read: <see cref="MaxChannels"/> channel names (ASCII slugs) of <see cref="MaxNameLength"/> characters, quoted,
    /// fit twice over.</summary>
    public const int MaxBytes = 4 * 1024 * 1024;

    /// <summary>
    /// Reads an answer (UTF-8 JSON, <c>{"channels":[…]}</c>): the channel names, or null and why not. Every name must be one
    /// URL path segment; one that is not makes the whole answer malformed, so a broken node warms nothing rather than a
    /// guess.
    /// </summary>
    public static IReadOnlyList<string>? TryParse(ReadOnlySpan<byte> utf8, out string problem)
    {
        if (utf8.Length > MaxBytes)
        {
            problem = $"its answer is larger than {MaxBytes / (1024 * 1024)} MiB";
            return null;
        }

        LiveRealTimeChannels? body;
        try
        {
            body = JsonSerializer.Deserialize<LiveRealTimeChannels>(utf8, JsonSerializerOptions.Web);
        }
        catch (JsonException e)
        {
            problem = "its answer is not the expected JSON: " + e.Message;
            return null;
        }

        if (body?.Channels is not { } channels)
        {
            problem = "its answer has no list of channels";
            return null;
        }

        if (channels.Count > MaxChannels)
        {
            problem = $"its answer lists {channels.Count} channels, more than {MaxChannels}";
            return null;
        }

        foreach (string? name in channels)
        {
            if (name is not { Length: > 0 and <= MaxNameLength } || name.Contains('/', StringComparison.Ordinal))
            {
                problem = "its answer lists a name that is not a channel name";
                return null;
            }
        }

        problem = "";
        return channels;
    }
}

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
                    else if (lastAnswers.TryGetValue(source, out var last) && last.Missed < MissedAnswersKept) lastAnswers[source] = (last.Channels,
                        last.Missed + 1);
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
            using var response = await relays.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attempt.Token).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                var body = await ReadBoundedAsync(response.Content, attempt.Token).ConfigureAwait(false);
                IReadOnlyList<string>? channels = null;
                if (body is null) problem = $"its answer is larger than {LiveRealTimeChannels.MaxBytes / (1024 * 1024)} MiB";
                else channels = LiveRealTimeChannels.TryParse(body, out problem);
                if (channels is not null)
                {
                    if (_problems.Remove(source)) LogAnswering(source.ToString());
                    return new HashSet<string>(channels, StringComparer.Ordinal);
                }
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
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
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

    /// <summary>The answer's bytes, or null past <see cref="LiveRealTimeChannels.MaxBytes"/> (read no further than that).</summary>
    private static async Task<byte[]?> ReadBoundedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength > LiveRealTimeChannels.MaxBytes) return null;
        await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var copy = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (copy.Length + read > LiveRealTimeChannels.MaxBytes) return null;
            copy.Write(chunk, 0, read);
        }

        return copy.ToArray();
    }

    [LoggerMessage(EventId = 8225, Level = LogLevel.Warning,
        Message = "Real-time relay: ingest node {Source} does not say which real-time channels are live ({Reason}); " +
            "they warm on their first viewer here")]
    private partial void LogNotAnswering(string source, string reason);

    [LoggerMessage(EventId = 8226, Level = LogLevel.Information,
        Message = "Real-time relay: ingest node {Source} answers again; its live real-time channels are warmed here")]
    private partial void LogAnswering(string source);
}
