using System.Collections.Concurrent;
using Broadcast.Media;
using Broadcast.Packager.Manifests;
using Broadcast.Storage;
using Microsoft.Extensions.Logging;

namespace Broadcast.Packager.Live;

/// <summary>
/// Per channel, the live state of a broadcast another node (or this one before a restart) left unfinished: read from the
/// store while its publish is being authorised (<see cref="LivePackager.PrepareContinuationAsync"/>) and taken by the
/// publish that follows. Kept apart from <see cref="LivePackager"/>, which packages what is published, because deciding
/// whether and where a broadcast continues is a question to the store asked before any packaging starts.
/// </summary>
internal sealed class BroadcastContinuations(ISegmentStore store, TimeProvider time, ILogger logger)
{
    /// <summary>How long a prepared continuation waits for its publish (the authorisation is followed by it at once).</summary>
    private static readonly TimeSpan ContinuationPickup = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, PreparedContinuation> _prepared = new(StringComparer.Ordinal);

    private sealed record PreparedContinuation(BroadcastContinuation Continuation, DateTimeOffset PreparedAt);

    /// <summary>
    /// The work of <see cref="LivePackager.PrepareContinuationAsync"/>: <paramref name="packaging"/> says a broadcast of
    /// <paramref name="channel"/> is being packaged here now (nothing to continue then).
    /// </summary>
    public async Task<string?> PrepareAsync(string channel, TimeSpan grace, Func<string, bool> packaging, CancellationToken cancellationToken)
    {
        _prepared.TryRemove(channel, out _);
        if (grace <= TimeSpan.Zero || !StoreKeys.IsValidName(channel) || packaging(channel)) return null;
        StoredObject? stored;
        try
        {
            stored = await store.GetAsync(LiveBroadcastState.Key(channel), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // A store that times out (its client's own cancellation) or fails must not refuse the publish.
            logger.LogContinuationUnreadable(ex, channel);
            return null;
        }
        if (stored is null) return null;
        if (LiveBroadcastState.TryParse(stored.Data.Span, out string? error) is not { } state)
        {
            logger.LogContinuationMalformed(channel, error ?? "unknown");
            return null;
        }
        if (state.Ended) return null;
        var now = time.GetUtcNow();
        var away = now - state.MediaEndWallClock;
        if (away > grace)
        {
            logger.LogContinuationTooOld(channel, state.BroadcastId, (long)away.TotalSeconds);
            return null;
        }
        long next = await NextNumberAsync(channel, state, cancellationToken).ConfigureAwait(false);
        _prepared[channel] = new PreparedContinuation(new BroadcastContinuation(state, next), now);
        return state.BroadcastId;
    }

    /// <summary>The continuation prepared for <paramref name="stream"/>'s publish, placed on its hub before its first frame.</summary>
    public BroadcastContinuation? Take(LiveStream stream)
    {
        if (!_prepared.TryRemove(stream.Name, out var prepared)) return null;
        var now = time.GetUtcNow();
        if (now - prepared.PreparedAt > ContinuationPickup) return null;
        var state = prepared.Continuation.State;
        var away = now - state.MediaEndWallClock;
        return stream.TryContinueAfter(state.MediaEnd, away > TimeSpan.Zero ? away : TimeSpan.Zero) ? prepared.Continuation : null;
    }

    /// <summary>
    /// The number the continuation starts at: the one after the last stored segment, or the one after that when the
    /// dead node had stored (and a low-latency playlist announced) parts of that segment: its parts' names and the
    /// players that loaded them belong to the dead node's media, so that number stays a gap (EXT-X-GAP).
    /// </summary>
    private async Task<long> NextNumberAsync(string channel, LiveBroadcastState state, CancellationToken cancellationToken)
    {
        long next = state.LastNumber + 1;
        foreach (var r in state.Renditions)
        {
            string part = $"{channel}/{r.Name}/{LowLatencyPlaylist.PartName(state.BroadcastId, next, 0)}";
            try
            {
                if (await store.GetAsync(part, cancellationToken).ConfigureAwait(false) is not null) return next + 1;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // Unknown: skip the number rather than reuse a part name players may hold.
                logger.LogContinuationUnreadable(ex, channel);
                return next + 1;
            }
        }
        return next;
    }
}
