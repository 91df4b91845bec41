using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using Broadcast.Media;
using Broadcast.WebRtc.Whep;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Broadcast.WebRtc.Relay;

/// <summary>
/// An origin-only node's source of real-time channels: the ingest nodes it relays from (<see cref="WhepOptions.RelayFrom"/>),
/// the credential it asks them with, and the node's own hubs the relayed channels are written into (no publisher writes
/// here: this registry holds relayed channels alone).
/// </summary>
public sealed class ChannelRelays : IDisposable
{

    private readonly ILogger<ChannelRelay> _logger;
    private readonly TimeProvider _time;
    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        UseProxy = false,
        ConnectTimeout = TimeSpan.FromSeconds(2),
        // The node may be replaced behind a name (a compose service restarted): connections are not kept forever.
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
    })
    { Timeout = Timeout.InfiniteTimeSpan };

    private readonly IRelayAdmission _admission;

    public ChannelRelays(IOptions<WhepOptions> options, RelayCredential credential, IRelayAdmission admission, ILogger<ChannelRelay> logger,
        TimeProvider? time = null)
    {
        _admission = admission ?? throw new ArgumentNullException(nameof(admission));
        Sources = ParseSources(options.Value.RelayFrom);
        if (Sources.Count == 0) throw new InvalidOperationException("Whep:RelayFrom names no ingest node: an origin-only node relays real-time " +
            "channels from at least one (e.g. Whep:RelayFrom:0=http://ingest:8080).");
        if (!credential.IsSet) throw new InvalidOperationException($"Whep:RelayFrom needs {RelayCredential.ConfigurationKey}: " +
            "the ingest nodes' feeds ask for it.");
        Credential = credential;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>What this node asks the ingest nodes with.</summary>
    public RelayCredential Credential { get; }

    /// <summary>The client for the ingest nodes (no proxy, short connect timeout, no overall timeout: feeds stream).</summary>
    internal HttpClient Http => _http;

    /// <summary>The ingest nodes' base URLs, asked in this order.</summary>
    public IReadOnlyList<Uri> Sources { get; }

    /// <summary>This node's hubs of relayed channels, which its <see cref="Rtp.ChannelRtpSource"/>s read.</summary>
    public LiveStreamRegistry Registry { get; } = new();

    /// <summary>Channels whose last probe is remembered, at most: a scan of made-up names cannot grow the table past it.</summary>
    public const int MaxProbedChannels = 10_000;

    /// <summary>How long a probe's answer stands: a channel that goes live is found within this.</summary>
    public static readonly TimeSpan ProbeLifetime = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, Probe> _probes = new(StringComparer.Ordinal);

    private sealed record Probe(Task<RelayRound> Answer, long At);

    /// <summary>Channels with a remembered probe now (for tests: a scan must not grow it without bound).</summary>
    public int ProbedChannels => _probes.Count;

    /// <summary>
    /// Whether <paramref name="channel"/> is live on one of the ingest nodes, asked with one small request per node
    /// (<see cref="RealTimeFeedEndpoints.LiveProbePathOf"/>) and nothing allocated here: what an anonymous WHEP request
    /// costs this node before the channel is known to be live. Concurrent asks for one channel share a probe, and its
    /// answer stands for <see cref="ProbeLifetime"/>.
    /// </summary>
    public Task<RelayRound> ProbeAsync(string channel, CancellationToken cancellationToken)
    {
        if (_probes.TryGetValue(channel, out var known) && (!known.Answer.IsCompleted || _time.GetElapsedTime(known.At) < ProbeLifetime))
            return known.Answer.WaitAsync(cancellationToken);
        if (_probes.Count >= MaxProbedChannels)
        {
            foreach (var (name, probe) in _probes)
                if (probe.Answer.IsCompleted && _time.GetElapsedTime(probe.At) >= ProbeLifetime) _probes.TryRemove(name, out _);
        }
        var fresh = new Probe(ProbeSourcesAsync(channel), _time.GetTimestamp());
        if (_probes.Count < MaxProbedChannels) _probes[channel] = fresh;
        return fresh.Answer.WaitAsync(cancellationToken);
    }

    private async Task<RelayRound> ProbeSourcesAsync(string channel)
    {
        bool unreachable = false;
        foreach (var source in Sources)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get,
                new Uri(source, RealTimeFeedEndpoints.LiveProbePathOf(channel).TrimStart('/')));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Credential.Token);
            using var timeout = new CancellationTokenSource(ChannelRelay.AnswerTimeout);
            try
            {
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.NoContent) return RelayRound.Live;
                if (response.StatusCode != HttpStatusCode.NotFound) unreachable = true;
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
                unreachable = true;
            }
        }

        return unreachable ? RelayRound.Unreachable : RelayRound.NotLive;
    }

    /// <summary>A relay for <paramref name="channel"/>, not started.</summary>
    public ChannelRelay Create(string channel) => new(channel, Sources, Credential, _http, Registry, _admission, _logger, _time);

    /// <summary>Absolute http(s) base URLs; anything else stops the node at start with the offending entry named.</summary>
    public static IReadOnlyList<Uri> ParseSources(IEnumerable<string> configured)
    {
        var sources = new List<Uri>();
        foreach (string entry in configured)
        {
            if (string.IsNullOrWhiteSpace(entry)) continue;
            string trimmed = entry.Trim();
            if (!Uri.TryCreate(trimmed.EndsWith('/') ? trimmed : trimmed + "/", UriKind.Absolute, out var uri)
                || uri.Scheme is not ("http" or "https")
                || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.UserInfo))
                throw new InvalidOperationException($"Whep:RelayFrom entry '{entry}' is not an http(s) base URL of an ingest node (e.g. " +
                    "http://ingest:8080).");
            sources.Add(uri);
        }

        return sources;
    }

    public void Dispose() => _http.Dispose();
}
