using System.Security.Cryptography;
using Broadcast.Packager.Manifests;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Broadcast.Origin.Steering;

/// <summary>
/// What the steering server knows of one pathway: its settings, the operator's override, its probes (LastStatus: the HTTP
/// status, 0 for no answer, <see cref="PathwayProber.StalePlaylistStatus"/> for a frozen playlist), its viewers.
/// </summary>
public sealed record PathwayStatus(string Id, string BaseUrl, int Weight, bool Drained, bool Healthy, int LastStatus,
    long LastLatencyMilliseconds, DateTimeOffset? LastProbeAt, int ConsecutiveFailures, long Viewers, long Requests, long Moves);

/// <summary>
/// The node's steering state and its decisions: each pathway's health (from <see cref="PathwayProber"/>), the operator's
/// weights and drains, and for each steering request the pathway priority to answer. A request costs one lock-free read
/// of the current decision table (rebuilt when health or an override changes) and a hash of the player's session: no
/// database, no table keyed by player input. A returning player stays on its pathway while it is healthy and not
/// drained; a new player (whatever pathway its first request names: that is the manifest's default, not a choice) or
/// one whose pathway failed is placed by weight, from a hash of its session, so the same session lands on the same
/// pathway on every node.
/// </summary>
public sealed class SteeringPathways
{
    private readonly Pathway[] _pathways;
    private readonly TimeProvider _time;
    private readonly int _failuresBeforeUnhealthy;
    private readonly long _windowTicks;
    private readonly object _gate = new();
    private readonly ILogger _logger;
    private volatile Decisions _decisions;

    public SteeringPathways(IOptions<SteeringOptions> options, TimeProvider time, ILogger<SteeringPathways>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _logger = logger ?? (ILogger)NullLogger.Instance;
        SteeringOptions o = options.Value;
        _time = time;
        _failuresBeforeUnhealthy = o.FailuresBeforeUnhealthy;
        TtlSeconds = o.TtlSeconds;
        _windowTicks = (long)(TimeSpan.FromSeconds(o.TtlSeconds).TotalSeconds * time.TimestampFrequency);
        // Healthy until a probe says otherwise: a node that just started steers to the operator's first choice.
        _pathways = o.Pathways.Select(p => new Pathway(p.Id, p.BaseUrl, p.Weight)).ToArray();
        Manifest = o.Pathways.Select(p => new SteeringPathway(p.Id, p.BaseUrl)).ToArray();
        _decisions = Build();
    }

    /// <summary>The pathways in configured order, as the manifests list them.</summary>
    public IReadOnlyList<SteeringPathway> Manifest { get; }

    public int TtlSeconds { get; }

    /// <summary>Raised (outside any lock) when a pathway turns healthy or unhealthy: its id and whether it is healthy now.</summary>
    public event Action<string, bool>? HealthChanged;

    /// <summary>Raised (outside any lock) after the operator changed a pathway on this node (<see cref="Override"/>).</summary>
    public event Action? Overridden;

    /// <summary>Records one probe of pathway <paramref name="index"/> (configured order).</summary>
    public void ReportProbe(int index, bool ok, int status, long latencyMilliseconds)
    {
        Pathway p = _pathways[index];
        bool changed;
        lock (_gate)
        {
            p.LastStatus = status;
            p.LastLatencyMilliseconds = latencyMilliseconds;
            p.LastProbeAt = _time.GetUtcNow();
            p.ConsecutiveFailures = ok ? 0 : p.ConsecutiveFailures + 1;
            bool healthy = ok || (p.Healthy && p.ConsecutiveFailures < _failuresBeforeUnhealthy);
            changed = healthy != p.Healthy;
            p.Healthy = healthy;
            if (changed) _decisions = Build();
        }

        if (changed) HealthChanged?.Invoke(p.Id, p.Healthy);
    }

    /// <summary>The operator's override (API or dashboard): a new weight and/or drain. False when no pathway has that id.</summary>
    public bool Override(string id, int? weight, bool? drained)
    {
        if (weight is < 0 or > 1000) throw new ArgumentOutOfRangeException(nameof(weight), weight, "A weight is between 0 and 1000.");
        int newWeight;
        bool newDrained;
        lock (_gate)
        {
            Pathway? p = Array.Find(_pathways, x => x.Id == id);
            if (p is null) return false;
            if (weight is { } w) p.Weight = w;
            if (drained is { } d) p.Drained = d;
            (newWeight, newDrained) = (p.Weight, p.Drained);
            _decisions = Build();
        }

        OriginLog.PathwayOverridden(_logger, id, newWeight, newDrained);
        Overridden?.Invoke();
        return true;
    }

    /// <summary>
    /// The operator's changes as another node shared them (<see cref="SteeringOverrides"/>): applied without raising
    /// <see cref="Overridden"/>. Ids this node does not know are ignored, weights out of range are left as they are.
    /// </summary>
    public void ApplyShared(IEnumerable<(string Id, int Weight, bool Drained)> shared)
    {
        ArgumentNullException.ThrowIfNull(shared);
        lock (_gate)
        {
            foreach (var (id, weight, drained) in shared)
            {
                Pathway? p = Array.Find(_pathways, x => x.Id == id);
                if (p is null) continue;
                if (weight is >= 0 and <= 1000) p.Weight = weight;
                p.Drained = drained;
            }

            _decisions = Build();
        }
    }

    public IReadOnlyList<PathwayStatus> Statuses()
    {
        lock (_gate)
        {
            long now = _time.GetTimestamp();
            return _pathways.Select(p => new PathwayStatus(p.Id, p.BaseUrl, p.Weight, p.Drained, p.Healthy, p.LastStatus,
                p.LastLatencyMilliseconds, p.LastProbeAt, p.ConsecutiveFailures, p.ViewersAt(now, _windowTicks), p.Requests, p.Moves)).ToArray();
        }
    }

    /// <summary>A new session id for a player's first steering request (16 base64url characters).</summary>
    public static string NewSession() => System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(12));

    /// <summary>
    /// The priority to answer a player with <paramref name="session"/>. <paramref name="current"/> is the pathway a
    /// returning player (one that brought the session of an earlier answer) says it is on, kept while eligible; null for a
    /// new player, whatever its first request names, so that new players are placed by weight. The returned list is
    /// shared: do not change it.
    /// </summary>
    public IReadOnlyList<string> Decide(string? current, string session)
    {
        Decisions decisions = _decisions;
        int first = -1;
        if (current is not null)
        {
            int at = Array.FindIndex(_pathways, p => p.Id == current);
            if (at >= 0 && decisions.Eligible[at]) first = at;
        }

        if (first < 0) first = decisions.Pick(Hash(session));
        Pathway chosen = _pathways[first];
        lock (_gate)
        {
            chosen.Count(_time.GetTimestamp(), _windowTicks);
            if (current is not null && current != chosen.Id) chosen.Moves++;
        }

        return decisions.Orders[first];
    }

    private Decisions Build()
    {
        int n = _pathways.Length;
        var eligible = new bool[n];
        for (int i = 0; i < n; i++) eligible[i] = _pathways[i].Healthy && !_pathways[i].Drained && _pathways[i].Weight > 0;
        // Everything else in a fixed rank: eligible by weight, then standbys (healthy, weight 0), then drained, then
        // unhealthy (listed last, not left out: if every probe is wrong the player still has somewhere to go).
        int Rank(int i) => eligible[i] ? 0 : !_pathways[i].Healthy ? 3 : _pathways[i].Drained ? 2 : 1;
        int[] ranked = Enumerable.Range(0, n).OrderBy(Rank).ThenByDescending(i => _pathways[i].Weight).ThenBy(i => i).ToArray();
        var orders = new string[n][];
        for (int first = 0; first < n; first++)
            orders[first] = [_pathways[first].Id, .. ranked.Where(i => i != first).Select(i => _pathways[i].Id)];

        // New players by weight among the eligible; none eligible: the best ranked.
        var cumulative = new List<(long UpTo, int Index)>();
        long total = 0;
        for (int i = 0; i < n; i++)
        {
            if (!eligible[i]) continue;
            total += _pathways[i].Weight;
            cumulative.Add((total, i));
        }

        return new Decisions(eligible, orders, cumulative.ToArray(), total, n == 0 ? -1 : ranked[0]);
    }

    /// <summary>FNV-1a over the session: stable across processes and nodes (string.GetHashCode is randomized per process).</summary>
    private static uint Hash(string session)
    {
        uint h = 2166136261;
        foreach (char c in session) h = (h ^ c) * 16777619;
        return h;
    }

    private sealed record Decisions(bool[] Eligible, string[][] Orders, (long UpTo, int Index)[] Cumulative, long TotalWeight, int Fallback)
    {
        public int Pick(uint hash)
        {
            if (TotalWeight == 0) return Fallback;
            long point = hash % TotalWeight;
            foreach (var (upTo, index) in Cumulative)
                if (point < upTo) return index;
            return Cumulative[^1].Index;
        }
    }

    private sealed class Pathway(string id, string baseUrl, int weight)
    {
        public string Id { get; } = id;
        public string BaseUrl { get; } = baseUrl;
        public int Weight { get; set; } = weight;
        public bool Drained { get; set; }
        public bool Healthy { get; set; } = true;
        public int LastStatus { get; set; }
        public long LastLatencyMilliseconds { get; set; }
        public DateTimeOffset? LastProbeAt { get; set; }
        public int ConsecutiveFailures { get; set; }
        public long Requests { get; private set; }
        public long Moves { get; set; }

        // Viewers: each player asks once per TTL, so the answers given in the last whole TTL window count them.
        private long _windowStart;
        private long _inWindow;
        private long _inPreviousWindow;

        public void Count(long now, long windowTicks)
        {
            Roll(now, windowTicks);
            _inWindow++;
            Requests++;
        }

        public long ViewersAt(long now, long windowTicks)
        {
            Roll(now, windowTicks);
            return _inPreviousWindow;
        }

        private void Roll(long now, long windowTicks)
        {
            if (now - _windowStart < windowTicks) return;
            _inPreviousWindow = now - _windowStart < 2 * windowTicks ? _inWindow : 0;
            _inWindow = 0;
            _windowStart = now;
        }
    }
}
