using Broadcast.Media;
using Broadcast.Network.Outbound;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Ingest.Pull;

/// <summary>
/// The pull sessions of this node, one per stream name, driven by <see cref="Apply"/>: the caller (the control plane's
/// coordinator) says which streams should pull what right now; a session whose assignment (its <see cref="PullSpec.Key"/>)
/// is gone or changed is stopped, a new assignment starts a session. A session that reached a final state (failed, or a file
/// that played once) stays, with its state, until its assignment changes or goes: it is not started again by itself.
/// </summary>
public sealed partial class PullSupervisor(LiveStreamRegistry registry, PullOptions options, OutboundGuard outbound, ILoggerFactory loggers,
    IPullAdmission admission, TimeProvider? time = null)
    : IHostedService
{
    private readonly Dictionary<string, PullSession> _sessions = new(StringComparer.Ordinal);
    private readonly List<Task> _stopping = [];
    private readonly ILogger _logger = loggers.CreateLogger<PullSupervisor>();
    private bool _shutDown;

    public PullOptions Options { get; } = options;

    /// <summary>Raised when a session's attempt started publishing: the control plane marks the channel's event live.</summary>
    public event Action<PullSpec>? WentLive;

    /// <summary>Raised when a session's state changed.</summary>
    public event Action<PullSpec, PullStatus>? StateChanged;

    public PullSession? Find(string streamName)
    {
        lock (_sessions) return _sessions.GetValueOrDefault(streamName);
    }

    public IReadOnlyList<PullSession> Sessions
    {
        get { lock (_sessions) return _sessions.Values.ToArray(); }
    }

    /// <summary>Makes the running sessions match <paramref name="desired"/> (at most one per stream name; the first wins).</summary>
    public void Apply(IEnumerable<PullSpec> desired)
    {
        ArgumentNullException.ThrowIfNull(desired);
        var wanted = new Dictionary<string, PullSpec>(StringComparer.Ordinal);
        foreach (var spec in desired) wanted.TryAdd(spec.StreamName, spec);
        lock (_sessions)
        {
            if (_shutDown) return;
            foreach (var (name, session) in _sessions.ToArray())
            {
                if (wanted.TryGetValue(name, out var spec) && spec.Key == session.Spec.Key) continue;
                _sessions.Remove(name);
                LogRemoved(name);
                Track(session.DisposeAsync().AsTask());
            }
            foreach (var (name, spec) in wanted)
            {
                if (_sessions.ContainsKey(name)) continue;
                var session = new PullSession(spec, registry, Options, outbound, loggers.CreateLogger<PullSession>(), admission, time);
                session.WentLive += s => WentLive?.Invoke(s.Spec);
                session.StateChanged += (s, status) => StateChanged?.Invoke(s.Spec, status);
                _sessions[name] = session;
                session.Start();
            }
        }
    }

    private void Track(Task task)
    {
        lock (_stopping)
        {
            _stopping.RemoveAll(t => t.IsCompleted);
            _stopping.Add(task);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        PullSession[] sessions;
        lock (_sessions)
        {
            _shutDown = true;
            sessions = _sessions.Values.ToArray();
            _sessions.Clear();
        }
        foreach (var s in sessions) Track(s.DisposeAsync().AsTask());
        Task[] pending;
        lock (_stopping) pending = [.. _stopping];
        await Task.WhenAll(pending).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 1708, Level = LogLevel.Information, Message = "Pull source of {Channel} removed or changed; stopping its session")]
    private partial void LogRemoved(string channel);
}
