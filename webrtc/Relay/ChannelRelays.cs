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

    public ChannelRelays(IOptions<WhepOptions> options, RelayCredential credential, ILogger<ChannelRelay> logger, TimeProvider? time = null)
    {
        Sources = ParseSources(options.Value.RelayFrom);
        if (Sources.Count == 0) throw new InvalidOperationException("Whep:RelayFrom names no ingest node: an origin-only node relays real-time channels from at least one (e.g. Whep:RelayFrom:0=http://ingest:8080).");
        if (!credential.IsSet) throw new InvalidOperationException($"Whep:RelayFrom needs {RelayCredential.ConfigurationKey}: the ingest nodes' feeds ask for it.");
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

    /// <summary>A relay for <paramref name="channel"/>, not started.</summary>
    public ChannelRelay Create(string channel) => new(channel, Sources, Credential, _http, Registry, _logger, _time);

    /// <summary>Absolute http(s) base URLs; anything else stops the node at start with the offending entry named.</summary>
    public static IReadOnlyList<Uri> ParseSources(IEnumerable<string> configured)
    {
        var sources = new List<Uri>();
        foreach (string entry in configured)
        {
            if (string.IsNullOrWhiteSpace(entry)) continue;
            string trimmed = entry.Trim();
            if (!Uri.TryCreate(trimmed.EndsWith('/') ? trimmed : trimmed + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
                || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.UserInfo))
                throw new InvalidOperationException($"Whep:RelayFrom entry '{entry}' is not an http(s) base URL of an ingest node (e.g. http://ingest:8080).");
            sources.Add(uri);
        }

        return sources;
    }

    public void Dispose() => _http.Dispose();
}
