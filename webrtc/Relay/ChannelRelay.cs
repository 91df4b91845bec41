using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using Broadcast.Media;
using Broadcast.Media.Flv;
using Microsoft.Extensions.Logging;

namespace Broadcast.WebRtc.Relay;

/// <summary>What one round over the ingest nodes found for a channel.</summary>
public enum RelayRound
{
    /// <summary>An ingest node feeds the channel: it is live in this node's hub.</summary>
    Live,

    /// <summary>Every ingest node answered, and none has the channel live.</summary>
    NotLive,

    /// <summary>No ingest node has it live, and at least one could not be asked (down, refused the node token).</summary>
    Unreachable,
}

/// <summary>
/// One channel relayed into an origin-only node while its real-time viewers hold it: asks each ingest node in
/// <see cref="Whep.WhepOptions.RelayFrom"/> for the channel's feed (<see cref="RealTimeFeedEndpoints"/>) and writes the
/// frames of the one that has it into this node's own hub, which the node's <see cref="Rtp.ChannelRtpSource"/> reads as an
/// ingest node reads its publisher's. One HTTP response per channel and node, whatever the number of viewers. When the
/// feed ends (the publish ended or restarted, the ingest node died) the local publish ends and the round starts again, so
/// a broadcast continued on a backup ingest node is found there.
/// </summary>
public sealed partial class ChannelRelay : IAsyncDisposable
{
    /// <summary>A feed that sends nothing for this long is given up (an ingest node gone without closing its connection).</summary>
    internal static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long an ingest node may take to answer the feed request.</summary>
    internal static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Between rounds that found the channel nowhere: viewers who stay connected see the next publish within this.</summary>
    internal static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(1);

    private readonly IReadOnlyList<Uri> _sources;
    private readonly RelayCredential _credential;
    private readonly HttpClient _http;
    private readonly LiveStreamRegistry _registry;
    private readonly IRelayAdmission _admission;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource<RelayRound> _round = NewRound();
    private Task _loop = Task.CompletedTask;
    private string? _lastProblem;

    public ChannelRelay(string channel, IReadOnlyList<Uri> sources, RelayCredential credential, HttpClient http, LiveStreamRegistry registry,
        IRelayAdmission admission, ILogger logger, TimeProvider? time = null)
    {
        _admission = admission ?? throw new ArgumentNullException(nameof(admission));
        Channel = channel;
        _sources = sources;
        _credential = credential;
        _http = http;
        _registry = registry;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    public string Channel { get; }

    /// <summary>The ingest node feeding the channel now; null between feeds.</summary>
    public Uri? FeedingFrom { get; private set; }

    public void Start()
    {
        // The relay outlives the WHEP request that started it: none of the request's context goes with it.
        using (ExecutionContext.SuppressFlow())
        {
            _loop = Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
        }
    }

    /// <summary>
    /// <see cref="RelayRound.Live"/> at once when the channel is live in this node's hub, else what the next round finds;
    /// <see cref="RelayRound.Unreachable"/> when no round ends within <paramref name="timeout"/>.
    /// </summary>
    public async Task<RelayRound> WaitLiveAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_registry.Find(Channel) is { IsCompleted: false }) return RelayRound.Live;
        try
        {
            return await Volatile.Read(ref _round).Task.WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return RelayRound.Unreachable;
        }
    }

    private static TaskCompletionSource<RelayRound> NewRound() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void EndRound(RelayRound result) => Interlocked.Exchange(ref _round, NewRound()).TrySetResult(result);

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            bool unreachable = false;
            bool played = false;
            foreach (var source in _sources)
            {
                var result = await FeedFromAsync(source, cancellationToken).ConfigureAwait(false);
                if (result == RelayRound.Live)
                {
                    played = true;
                    break;
                }

                unreachable |= result == RelayRound.Unreachable;
            }

            if (played) continue;
            EndRound(unreachable ? RelayRound.Unreachable : RelayRound.NotLive);
            try { await Task.Delay(RetryInterval, _time, cancellationToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>One feed request to <paramref name="source"/>: Live when it fed the channel (now ended), else why it did not.</summary>
    private async Task<RelayRound> FeedFromAsync(Uri source, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(source, RealTimeFeedEndpoints.PathOf(Channel).TrimStart('/')));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _credential.Token);
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(AnswerTimeout);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attempt.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Problem(source, e is OperationCanceledException ? $"no answer within {AnswerTimeout.TotalSeconds:0} s" : e.Message);
            return RelayRound.Unreachable;
        }
        catch (OperationCanceledException)
        {
            return RelayRound.NotLive;
        }

        using (response)
        {
            if (response.StatusCode == HttpStatusCode.NotFound) return RelayRound.NotLive;
            if (!response.IsSuccessStatusCode)
            {
                Problem(source, $"it answered {(int)response.StatusCode} (is Playback:NodeToken the same on both nodes?)");
                return RelayRound.Unreachable;
            }

            _lastProblem = null;
            return await PlayAsync(source, response, attempt, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<RelayRound> PlayAsync(Uri source, HttpResponseMessage response, CancellationTokenSource attempt,
        CancellationToken cancellationToken)
    {
        var publish = new FlvPublish(_registry, _admission.Admit(Channel))
        {
            Protocol = "relay",
            Started = _ =>
            {
                FeedingFrom = source;
                EndRound(RelayRound.Live);
                LogFeeding(Channel, source.ToString());
            },
        };
        string ended = "the ingest node ended the feed";
        bool broken = false;
        await using var body = await response.Content.ReadAsStreamAsync(attempt.Token).ConfigureAwait(false);
        var pipe = PipeReader.Create(body);
        try
        {
            while (true)
            {
                attempt.CancelAfter(StallTimeout);
                var result = await pipe.ReadAsync(attempt.Token).ConfigureAwait(false);
                // A frame the demuxer cannot read is skipped; the feed goes on (the next keyframe heals the picture).
                var position = publish.Write(result.Buffer, out var refusal, out string? error);
                pipe.AdvanceTo(position, result.Buffer.End);
                if (refusal != FlvPublishRefusal.None)
                {
                    ended = refusal == FlvPublishRefusal.HubInUse ? "this node's hub for the channel is still in use"
                        : "the feed is not FLV: " + error;
                    broken = true;
                    break;
                }

                if (result.IsCompleted) break;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            ended = $"nothing arrived for {StallTimeout.TotalSeconds:0} s";
        }
        catch (OperationCanceledException)
        {
            ended = "the relay stopped";
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            ended = "the connection was lost: " + e.Message;
        }
        finally
        {
            await pipe.CompleteAsync().ConfigureAwait(false);
            FeedingFrom = null;
            publish.End();
        }

        if (publish.Stream is null)
        {
            // Answered but fed nothing usable: a broken node is not an off-air channel.
            if (!broken) return RelayRound.NotLive;
            Problem(source, ended);
            return RelayRound.Unreachable;
        }

        LogFeedEnded(Channel, source.ToString(), ended);
        return RelayRound.Live;
    }

    /// <summary>Logs an ingest node that cannot be asked, once per new reason (a viewer holding an off-air channel asks every second).</summary>
    private void Problem(Uri source, string reason)
    {
        string problem = $"{source} {reason}";
        if (problem == _lastProblem) return;
        _lastProblem = problem;
        LogUnreachable(Channel, source.ToString(), reason);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try { await _loop.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        _round.TrySetResult(RelayRound.NotLive);
        _stop.Dispose();
    }

    [LoggerMessage(EventId = 8222, Level = LogLevel.Information,
        Message = "Real-time relay {Channel}: fed from ingest node {Source}; this node's viewers play it")]
    private partial void LogFeeding(string channel, string source);

    [LoggerMessage(EventId = 8223, Level = LogLevel.Information, Message = "Real-time relay {Channel}: the feed from {Source} ended: {Reason}")]
    private partial void LogFeedEnded(string channel, string source, string reason);

    [LoggerMessage(EventId = 8224, Level = LogLevel.Warning, Message = "Real-time relay {Channel}: ingest node {Source} cannot be asked: {Reason}")]
    private partial void LogUnreachable(string channel, string source, string reason);
}
