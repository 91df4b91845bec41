using System.Buffers.Text;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Broadcast.Control.Api;
using Broadcast.Control.Security;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Playback;

/// <summary>
/// Private playback on a node without the channel database (<c>--Roles=origin</c>): the private channels and the
/// verification keys come from the control plane's <c>GET /api/playback/access</c>, polled by
/// <see cref="RemotePlaybackRefresher"/>; tokens are verified here with the control plane's own
/// <see cref="PlaybackToken"/> code, so a viewer's request never waits on the network. Fails closed: until the first
/// snapshot arrives every stream counts as private and no token is good (so <c>/live</c> answers 503 with
/// Retry-After, as <c>/readyz</c> does); once one has arrived it stays in force while the control plane is unreachable.
/// The origin asks it through the server's adapter; <see cref="Withdrawn"/> tells the node's cache which streams' copies to drop.
/// </summary>
public sealed class RemotePlaybackAccess(TimeProvider time, Jwt.PlaybackJwtVerifier? jwt = null)
{
    private volatile Snapshot? _snapshot;

    /// <summary>True once a snapshot has arrived from the control plane (before it, refused requests get 503).</summary>
    public bool IsReady => _snapshot is not null;

    /// <summary>
    /// Raised with a stream (slug) that stopped being private, or whose slug another channel took: the node's cached
    /// copies of it were read with a token and must not be served without one. Raised twice per change: before the new
    /// snapshot is in force and after it.
    /// </summary>
    public event Action<string>? Withdrawn;

    /// <summary>The version (ETag) of the snapshot in force, null before the first.</summary>
    public string? Version => _snapshot?.Version;

    public bool IsPrivate(ReadOnlySpan<char> stream)
    {
        Snapshot? snapshot = _snapshot;
        return snapshot is null || (snapshot.PrivateCount != 0 && snapshot.PrivateChannelIds.ContainsKey(stream));
    }

    /// <summary>Derived from the channel id exactly as on control nodes, so an edge's cache key does not depend on which node it asked.</summary>
    public string? ScopeOf(ReadOnlySpan<char> stream)
        => _snapshot is { } snapshot && snapshot.PrivateChannelIds.TryGetValue(stream, out string? channelId) ? PlaybackScope.Of(channelId) : null;

    public bool IsAuthorized(ReadOnlySpan<char> stream, ReadOnlySpan<char> token, out DateTimeOffset expiresAt)
        => IsAuthorized(stream, token, null, out expiresAt);

    /// <summary>As above from <paramref name="client"/>: a platform JWT (<c>Playback:Jwt</c>, configured on this node too) is
    /// verified here with this node's copy of the platform's keys.</summary>
    public bool IsAuthorized(ReadOnlySpan<char> stream, ReadOnlySpan<char> token, System.Net.IPAddress? client, out DateTimeOffset expiresAt)
    {
        expiresAt = default;
        Snapshot? snapshot = _snapshot;
        if (jwt is { Enabled: true } && Jwt.PlaybackJwtVerifier.LooksLikeJwt(token))
        {
            if (snapshot is null || !snapshot.PrivateChannelIds.ContainsKey(stream)
                || jwt.Verify(stream, token, client, out Jwt.PlaybackGrant grant) != PlaybackTokenResult.Valid)
            {
                return false;
            }

            expiresAt = grant.ExpiresAt;
            return true;
        }

        if (snapshot is null
            || !snapshot.PrivateChannelIds.TryGetValue(stream, out string? channelId)
            || PlaybackToken.Verify(token, stream, channelId, time.GetUtcNow().ToUnixTimeSeconds(), snapshot.Keys) != PlaybackTokenResult.Valid
            || !PlaybackToken.TryParse(token, out _, out _, out long expires, out _))
        {
            return false;
        }

        expiresAt = DateTimeOffset.FromUnixTimeSeconds(expires);
        return true;
    }

    /// <summary>Puts a snapshot from the control plane in force; throws (keeping the previous one) when it is malformed.</summary>
    public void Apply(PlaybackNodeSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (snapshot.Version is not { Length: > 0 } || snapshot.CurrentKey is null)
        {
            throw new FormatException("The playback access snapshot lacks its version or current key.");
        }

        if (snapshot.Channels is null)
        {
            // A control node from before tokens were bound to channel ids: no token it mints would verify here.
            throw new FormatException("The playback access snapshot lacks the private channels' ids: upgrade the control node to this version.");
        }

        var channels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var channel in snapshot.Channels)
        {
            if (channel?.Slug is not { Length: > 0 } slug || channel.Id is not { Length: > 0 } id)
            {
                throw new FormatException("A private channel in the playback access snapshot lacks its slug or id.");
            }

            channels[slug] = id;
        }

        var keys = new PlaybackKeyRing(ToKey(snapshot.CurrentKey), snapshot.PreviousKey is { } previous ? ToKey(previous) : null);
        var before = _snapshot;
        // A stream that stops being private (its channel deleted or made public), or whose slug another channel took:
        // this node's cached copies of it were read with a token and must not be served without one, or to the new
        // channel's viewers. They go before the new snapshot is in force (while it still needs a token) and again after
        // it (a read that was in flight meanwhile).
        var gone = before is null ? [] : before.Channels.Where(c => !channels.TryGetValue(c.Key, out string? id) || id != c.Value).Select(c => c.Key)
            .ToList();
        foreach (string slug in gone) Withdrawn?.Invoke(slug);
        _snapshot = new Snapshot(snapshot.Version, channels, keys);
        foreach (string slug in gone) Withdrawn?.Invoke(slug);
    }

    private static PlaybackSigningKey ToKey(PlaybackNodeKey key)
    {
        if (key.Id is null || key.Secret is null)
        {
            throw new FormatException("A playback key lacks its id or secret.");
        }

        return new PlaybackSigningKey(key.Id, Base64Url.DecodeFromChars(key.Secret));
    }

    private sealed class Snapshot(string version, Dictionary<string, string> privateChannels, PlaybackKeyRing keys)
    {
        public string Version { get; } = version;

        public int PrivateCount { get; } = privateChannels.Count;

        public IReadOnlyDictionary<string, string> Channels { get; } = privateChannels;

        /// <summary>Slug → id of the private channel that holds it, looked up by span.</summary>
        public Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> PrivateChannelIds { get; } =
            privateChannels.GetAlternateLookup<ReadOnlySpan<char>>();

        public PlaybackKeyRing Keys { get; } = keys;
    }
}

/// <summary>
/// Polls the control plane's <c>GET /api/playback/access</c> every <c>Playback:RefreshSeconds</c> with the playback node
/// token (<c>Playback:NodeToken</c>) and <c>If-None-Match</c>, putting each new snapshot in force. A failure keeps the last snapshot and is logged
/// once until a poll succeeds again.
/// </summary>
public sealed partial class RemotePlaybackRefresher(RemotePlaybackAccess access, RemotePlaybackSettings settings,
    ILogger<RemotePlaybackRefresher> logger)
    : BackgroundService
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        BaseAddress = settings.ControlUrl,
        Timeout = TimeSpan.FromSeconds(10),
    };

    private bool _failing;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(settings.Interval);
        do
        {
            await PollAsync(stoppingToken).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>One poll; false when it failed (the snapshot in force stays).</summary>
    public async Task<bool> PollAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, PlaybackNodeEndpoint.Path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", settings.NodeToken);
            if (access.Version is { } version)
            {
                request.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"" + version + "\""));
            }

            using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.NotModified)
            {
                if (!response.IsSuccessStatusCode)
                {
                    throw new HttpRequestException($"{(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
                }

                var snapshot = await response.Content.ReadFromJsonAsync(ControlJsonContext.Default.PlaybackNodeSnapshot, cancellationToken)
                    .ConfigureAwait(false) ?? throw new FormatException("The playback access snapshot is empty.");
                bool first = !access.IsReady;
                access.Apply(snapshot);
                if (first)
                {
                    LogFirstSnapshot(snapshot.Channels!.Count, snapshot.CurrentKey.Id);
                }
            }

            if (_failing)
            {
                _failing = false;
                LogRecovered();
            }

            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            if (!_failing)
            {
                _failing = true;
                if (access.IsReady)
                {
                    LogUnreachable(settings.ControlUrl, e.Message);
                }
                else
                {
                    LogNotReady(settings.ControlUrl, e.Message);
                }
            }

            return false;
        }
    }

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 3805, Level = LogLevel.Information,
        Message = "Private playback snapshot received: {PrivateChannels} private channel(s), current key {KeyId}")]
    private partial void LogFirstSnapshot(int privateChannels, string keyId);

    [LoggerMessage(EventId = 3806, Level = LogLevel.Warning,
        Message = "Private playback: control plane {ControlUrl} unreachable ({Reason}); the last snapshot stays in force")]
    private partial void LogUnreachable(Uri controlUrl, string reason);

    [LoggerMessage(EventId = 3807, Level = LogLevel.Error,
        Message = "Private playback: no snapshot yet from control plane {ControlUrl} ({Reason}); every /live request is refused until one arrives")]
    private partial void LogNotReady(Uri controlUrl, string reason);

    [LoggerMessage(EventId = 3808, Level = LogLevel.Information, Message = "Private playback: control plane reachable again")]
    private partial void LogRecovered();
}

/// <summary>Where an origin-only node fetches private playback from, how often, and with which token.</summary>
public sealed record RemotePlaybackSettings(Uri ControlUrl, TimeSpan Interval, string NodeToken)
{
    /// <summary>
    /// Reads <c>Playback:ControlUrl</c> (required), <c>Playback:RefreshSeconds</c> (default 5, 1–300) and
    /// <c>Playback:NodeToken</c> (required); throws a clear error at startup when one is missing, or when the node also
    /// holds <c>Admin:Token</c>, which it never needs: one compromised origin would be a full admin.
    /// </summary>
    public static RemotePlaybackSettings From(IConfiguration configuration)
    {
        string? url = configuration["Playback:ControlUrl"];
        if (string.IsNullOrWhiteSpace(url) || !Uri.TryCreate(url, UriKind.Absolute, out Uri? controlUrl)
            || (controlUrl.Scheme != Uri.UriSchemeHttp && controlUrl.Scheme != Uri.UriSchemeHttps))
        {
            throw new InvalidOperationException(
                "An origin-only node (Roles without control or ingest) must enforce private playback: set Playback:ControlUrl to a control node's " +
                "base URL (e.g. http://broadcast:8080) and Playback:NodeToken to its playback node token, " +
                "or Playback:PublicOnly=true if no channel is ever private.");
        }

        string? token = configuration[PlaybackNodeToken.ConfigurationKey];
        if (string.IsNullOrWhiteSpace(token) || token.Trim().Length < PlaybackNodeToken.MinLength)
        {
            throw new InvalidOperationException(
                "Playback:ControlUrl is set but Playback:NodeToken is not (or is shorter than " + PlaybackNodeToken.MinLength + " characters): an " +
                "origin-only node reads private channels and playback keys from the control plane with the playback node token; set " +
                "Playback:NodeToken to the control node's.");
        }

        if (!string.IsNullOrWhiteSpace(configuration["Admin:Token"]))
        {
            throw new InvalidOperationException(
                "Admin:Token is set on an origin-only node: it unlocks the whole admin API and an origin needs only Playback:NodeToken. Remove it " +
                "from this node's configuration.");
        }

        return new RemotePlaybackSettings(controlUrl, PlaybackServiceCollectionExtensions.RefreshInterval(configuration), token.Trim());
    }

    /// <summary>Never the token.</summary>
    public override string ToString() => $"RemotePlaybackSettings {ControlUrl} every {Interval}";

    /// <summary>
    /// Registers the remote access and its refresher on a node without the channel database, unless
    /// <c>Playback:PublicOnly=true</c> says every stream is public here. True when registered (the host then puts the
    /// origin's view over <see cref="RemotePlaybackAccess"/>).
    /// </summary>
    internal static bool AddTo(IServiceCollection services, IConfiguration configuration)
    {
        if (configuration.GetValue<bool>("Playback:PublicOnly"))
        {
            return false;
        }

        services.AddSingleton(From(configuration));
        services.AddPlaybackJwt(configuration);
        services.AddSingleton<RemotePlaybackAccess>();
        services.AddSingleton<RemotePlaybackRefresher>();
        services.AddHostedService(sp => sp.GetRequiredService<RemotePlaybackRefresher>());
        // The ClearKey license on this node asks the control node for the keys it does not hold.
        services.AddSingleton<Protection.RemoteContentKeys>();
        // The viewers this node serves, handed to the control node each bucket for the audience kept per broadcast.
        Analytics.AudienceForwarder.AddTo(services, configuration);
        return true;
    }
}
