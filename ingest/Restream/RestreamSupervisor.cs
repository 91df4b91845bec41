using Broadcast.Ingest.Rtmp.Client;
using Broadcast.Media;
using Broadcast.Network.Outbound;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Broadcast.Ingest.Restream;

/// <summary>
/// Runs one <see cref="RestreamSession"/> per enabled destination of every live stream. Destinations are read when a
/// stream is published, again whenever <see cref="RefreshAsync"/> is called (the API changed them) and every
/// <see cref="RestreamOptions.RefreshSeconds"/> while live; a session starts, stops or restarts to match. The last
/// state of a stopped session stays readable until the destination is next started, so an operator sees how a
/// broadcast's restream ended.
/// </summary>
public sealed class RestreamSupervisor : IHostedService, IAsyncDisposable
{
    private readonly LiveStreamRegistry _registry;
    private readonly IRestreamDestinationSource _source;
    private readonly RestreamOptions _options;
    private readonly OutboundGuard _outbound;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly Dictionary<string, LiveEntry> _live = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RestreamState> _ended = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private Task _refreshLoop = Task.CompletedTask;
    private bool _started;

    /// <param name="outbound">Vets every destination before each connection (the composition registers it; see <c>Outbound:*</c>).</param>
    public RestreamSupervisor(LiveStreamRegistry registry, IRestreamDestinationSource source, IOptions<RestreamOptions> options,
        OutboundGuard outbound,
        TimeProvider time, ILogger<RestreamSupervisor> logger)
    {
        _registry = registry;
        _source = source;
        _options = options.Value;
        _outbound = outbound;
        _time = time;
        _logger = logger;
    }

    private sealed class LiveEntry(LiveStream stream)
    {
        public LiveStream Stream { get; } = stream;

        public Dictionary<string, RestreamSession> Sessions { get; } = new(StringComparer.Ordinal);

        /// <summary>One refresh at a time per stream, so two diffs never race.</summary>
        public SemaphoreSlim Refreshing { get; } = new(1, 1);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled) return Task.CompletedTask;
        _started = true;
        _registry.Published += OnPublished;
        _registry.Unpublished += OnUnpublished;
        foreach (var stream in _registry.Active) OnPublished(stream);
        if (_options.RefreshSeconds > 0) _refreshLoop = Task.Run(() => RefreshPeriodicallyAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!_started) return;
        _started = false;
        _registry.Published -= OnPublished;
        _registry.Unpublished -= OnUnpublished;
        _stopping.Cancel();
        await _refreshLoop.ConfigureAwait(false);
        List<RestreamSession> sessions;
        lock (_gate)
        {
            sessions = _live.Values.SelectMany(e => e.Sessions.Values).ToList();
            _live.Clear();
        }
        await Task.WhenAll(sessions.Select(StopSessionAsync)).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>Re-reads the destinations of the live stream <paramref name="streamName"/> (the channel slug); nothing when it is not live.</summary>
    public Task RefreshAsync(string streamName)
    {
        LiveEntry? entry;
        lock (_gate) _live.TryGetValue(streamName, out entry);
        return entry is null ? Task.CompletedTask : RefreshAsync(entry);
    }

    /// <summary>The state of a destination: its running session's, else how its last session ended, else null (never started).</summary>
    public RestreamState? GetState(string destinationId)
    {
        lock (_gate)
        {
            foreach (var entry in _live.Values)
                if (entry.Sessions.TryGetValue(destinationId, out var session)) return session.State;
            return _ended.GetValueOrDefault(destinationId);
        }
    }

    private void OnPublished(LiveStream stream)
    {
        var entry = new LiveEntry(stream);
        lock (_gate)
        {
            if (_live.ContainsKey(stream.Name)) return;
            _live[stream.Name] = entry;
        }
        // Off the publisher's thread: reading destinations touches the database.
        _ = Task.Run(() => RefreshAsync(entry));
    }

    private void OnUnpublished(LiveStream stream)
    {
        List<RestreamSession> sessions;
        lock (_gate)
        {
            if (!_live.TryGetValue(stream.Name, out var entry) || !ReferenceEquals(entry.Stream, stream)) return;
            _live.Remove(stream.Name);
            sessions = entry.Sessions.Values.ToList();
            entry.Sessions.Clear();
        }
        _ = Task.WhenAll(sessions.Select(StopSessionAsync));
    }

    private async Task RefreshAsync(LiveEntry entry)
    {
        try
        {
            await entry.Refreshing.WaitAsync(_stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        try
        {
            IReadOnlyList<RestreamDestination> destinations;
            try
            {
                destinations = await _source.GetDestinationsAsync(entry.Stream, _stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                RestreamLog.SourceFailed(_logger, entry.Stream.Name, ex.Message);
                return;
            }
            var toStop = new List<RestreamSession>();
            lock (_gate)
            {
                if (entry.Stream.IsCompleted || !_live.TryGetValue(entry.Stream.Name, out var current) || !ReferenceEquals(current, entry)) return;
                var wanted = destinations.Where(d => d.Enabled).ToDictionary(d => d.Id, StringComparer.Ordinal);
                foreach (var (id, session) in entry.Sessions.ToList())
                {
                    if (wanted.TryGetValue(id, out var d) && d == session.Destination) continue;
                    entry.Sessions.Remove(id);
                    toStop.Add(session);
                }
                foreach (var destination in wanted.Values)
                {
                    if (entry.Sessions.ContainsKey(destination.Id)) continue;
                    if (!RtmpPublishTarget.TryParse(destination.Url, destination.StreamKey, out var target, out var error))
                    {
                        RestreamLog.InvalidDestination(_logger, destination.Id, error!);
                        continue;
                    }
                    var session = new RestreamSession(entry.Stream, destination, target!, _options, _outbound, _time, _logger);
                    entry.Sessions[destination.Id] = session;
                    _ended.Remove(destination.Id);
                    session.Start();
                }
            }
            await Task.WhenAll(toStop.Select(StopSessionAsync)).ConfigureAwait(false);
        }
        finally
        {
            entry.Refreshing.Release();
        }
    }

    private async Task StopSessionAsync(RestreamSession session)
    {
        await session.StopAsync().ConfigureAwait(false);
        lock (_gate)
        {
            bool restarted = _live.Values.Any(e => e.Sessions.ContainsKey(session.Destination.Id));
            if (!restarted) _ended[session.Destination.Id] = session.State;
        }
    }

    private async Task RefreshPeriodicallyAsync(CancellationToken token)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(_options.RefreshSeconds), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
            {
                List<LiveEntry> entries;
                lock (_gate) entries = _live.Values.ToList();
                foreach (var entry in entries) await RefreshAsync(entry).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
