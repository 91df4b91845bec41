using Broadcast.Control.Channels;

namespace Broadcast.Control.Breaks;

/// <summary>Where an asked-for ad break stands.</summary>
public enum AdBreakState
{
    /// <summary>Nothing of the channel is live on this node.</summary>
    NotLive,

    /// <summary>Another break is waiting for its segment boundary or running; breaks do not overlap.</summary>
    Busy,

    /// <summary>Accepted; it begins at the next segment boundary, which had not come when the answer was given.</summary>
    Waiting,

    /// <summary>It began: its first segment is stored and every manifest marks it from <see cref="AdBreakInsertion.Start"/>.</summary>
    Started,
}

/// <summary>The answer to an ad break request. <see cref="Id"/> is the SCTE-35 splice_event_id the manifests carry.</summary>
public sealed record AdBreakInsertion(AdBreakState State, uint Id, TimeSpan Duration, DateTimeOffset RequestedAt, DateTimeOffset? Start);

/// <summary>
/// Puts an ad break into a channel's live broadcast (SCTE-35 markers in its HLS playlists and MPD). The server implements
/// it against the packaging on its own node, like <see cref="Events.IBroadcastTerminator"/>.
/// </summary>
public interface IAdBreakInserter
{
    ValueTask<AdBreakInsertion> InsertAsync(Channel channel, TimeSpan duration, CancellationToken cancellationToken);
}

/// <summary>A node that packages nothing (control only): never live here.</summary>
internal sealed class NoAdBreakInserter(TimeProvider time) : IAdBreakInserter
{
    public ValueTask<AdBreakInsertion> InsertAsync(Channel channel, TimeSpan duration, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new AdBreakInsertion(AdBreakState.NotLive, 0, duration, time.GetUtcNow(), null));
}
