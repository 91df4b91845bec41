using Broadcast.Packager.Manifests;

namespace Broadcast.Origin.Steering;

/// <summary>
/// Content steering across delivery paths (CDNs or edge fleets), bound from the <c>Steering</c> section. Off while
/// <see cref="Pathways"/> is empty. Every node that serves <c>/live</c> rewrites its master playlists and MPDs with the
/// pathways, and answers <c>/steering/hls</c> and <c>/steering/dash</c> from its own probes of them.
/// </summary>
public sealed class SteeringOptions
{
    public const string SectionName = "Steering";

    /// <summary>Most pathways one presentation lists (each one is a copy of the master's variants).</summary>
    public const int MaxPathways = 8;

    /// <summary>The delivery paths in order of preference: the first is where players start.</summary>
    public List<SteeringPathwayOptions> Pathways { get; set; } = [];

    /// <summary>
    /// Scheme and host (and optional path prefix) under which players reach <c>/steering/…</c>, e.g.
    /// <c>https://steer.example.com</c>. Name a host that is not behind any one pathway: a player that can no longer
    /// reach a pathway must still reach the steering server to learn where to go. Empty: <c>/steering/…</c> relative to
    /// the master playlist, i.e. through whichever pathway served it.
    /// </summary>
    public string ServerUrl { get; set; } = "";

    /// <summary>
    /// Where players reach the steering server for a request to this node: <see cref="ServerUrl"/> (without a trailing
    /// '/'), else the request's own scheme, host and path base.
    /// </summary>
    public string ServerBase(Microsoft.AspNetCore.Http.HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return ServerUrl.Length > 0 ? ServerUrl.TrimEnd('/') : request.Scheme + "://" + request.Host.Value + request.PathBase.Value;
    }

    /// <summary>Seconds a player keeps a steering answer before asking again (the manifests' TTL).</summary>
    public int TtlSeconds { get; set; } = 10;

    /// <summary>How often each pathway is probed.</summary>
    public int ProbeIntervalMilliseconds { get; set; } = 1000;

    /// <summary>A probe that has no answer within this long counts as failed.</summary>
    public int ProbeTimeoutMilliseconds { get; set; } = 1500;

    /// <summary>What a probe fetches through each pathway; the shipped edge passes <c>/healthz</c> to an origin uncached.</summary>
    public string ProbePath { get; set; } = "/healthz";

    /// <summary>
    /// A channel (slug) whose newest segment every probe also fetches through each pathway while it is live: its source
    /// playlist must answer, its newest segment must answer, and that segment must be among the newest
    /// <see cref="ProbeFreshSegments"/> the store lists, so an edge that answers /healthz but serves a frozen playlist is
    /// unhealthy too. Empty (default): <see cref="ProbePath"/> alone.
    /// </summary>
    public string ProbeChannel { get; set; } = "";

    /// <summary>How many of the store's newest segments a pathway's newest may lag behind (see <see cref="ProbeChannel"/>).</summary>
    public int ProbeFreshSegments { get; set; } = 3;

    /// <summary>Consecutive failed probes after which a pathway is unhealthy (one success makes it healthy again).</summary>
    public int FailuresBeforeUnhealthy { get; set; } = 2;

    /// <summary>
    /// How often every node reads the operator's changes that another node shared through the store
    /// (<see cref="SteeringOverrides"/>): one small store read per node each time.
    /// </summary>
    public int OverridesRefreshMilliseconds { get; set; } = 2000;

    public bool Enabled => Pathways.Count > 0;

    /// <summary>Null when the settings are usable, otherwise what is wrong with them.</summary>
    public string? Validate()
    {
        if (Pathways.Count > MaxPathways) return $"Steering:Pathways lists {Pathways.Count} pathways; at most {MaxPathways}.";
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (SteeringPathwayOptions p in Pathways)
        {
            if (!ContentSteering.IsValidPathwayId(p.Id)) return $"Steering:Pathways: '{p.Id}' is not a pathway id (1-64 of A-Z a-z 0-9 . - _).";
            if (!ids.Add(p.Id)) return $"Steering:Pathways: '{p.Id}' is listed twice.";
            if (!Uri.TryCreate(p.BaseUrl, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
                || uri.Query.Length > 0 || uri.Fragment.Length > 0)
                return $"Steering:Pathways: the BaseUrl of '{p.Id}' must be an absolute http(s) URL without query.";
            if (p.Weight is < 0 or > 1000) return $"Steering:Pathways: the Weight of '{p.Id}' must be between 0 and 1000.";
        }

        if (ServerUrl.Length > 0 && (!Uri.TryCreate(ServerUrl, UriKind.Absolute,
            out Uri? server) || (server.Scheme != Uri.UriSchemeHttp && server.Scheme != Uri.UriSchemeHttps) || server.Query.Length > 0))
            return "Steering:ServerUrl must be empty or an absolute http(s) URL without query.";
        if (TtlSeconds is < 1 or > 3600) return "Steering:TtlSeconds must be between 1 and 3600.";
        if (ProbeIntervalMilliseconds is < 100 or > 60_000) return "Steering:ProbeIntervalMilliseconds must be between 100 and 60000.";
        if (ProbeTimeoutMilliseconds is < 100 or > 60_000) return "Steering:ProbeTimeoutMilliseconds must be between 100 and 60000.";
        if (FailuresBeforeUnhealthy is < 1 or > 100) return "Steering:FailuresBeforeUnhealthy must be between 1 and 100.";
        if (OverridesRefreshMilliseconds is < 100 or > 600_000) return "Steering:OverridesRefreshMilliseconds must be between 100 and 600000.";
        if (!ProbePath.StartsWith('/')) return "Steering:ProbePath must start with '/'.";
        if (ProbeChannel.Length > 0
            && !Broadcast.Storage.StoreKeys.IsValidName(ProbeChannel)) return "Steering:ProbeChannel must be a channel's slug.";
        if (ProbeFreshSegments is < 1 or > 100) return "Steering:ProbeFreshSegments must be between 1 and 100.";
        return null;
    }
}

/// <summary>One delivery path: its id (PATHWAY-ID, serviceLocation), its base URL, and its share of new viewers.</summary>
public sealed class SteeringPathwayOptions
{
    public string Id { get; set; } = "";

    public string BaseUrl { get; set; } = "";

    /// <summary>Relative share of new viewers while healthy (0: only when no other pathway is healthy).</summary>
    public int Weight { get; set; } = 1;
}
