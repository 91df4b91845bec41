using Broadcast.Control.Playback;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Channels;

/// <summary>
/// Deletes every object a channel has in the segment store: its live objects and its recordings, everything under
/// <c>{slug}/</c>. The server implements it over the store; control knows no store.
/// </summary>
public interface IChannelMedia
{
    /// <summary>
    /// True while this node is still writing objects under <c>{slug}/</c>: a broadcast on air, or one whose final
    /// manifests are still being written after its publisher left.
    /// </summary>
    bool IsWriting(string slug);

    /// <summary>
    /// True when the store shows the channel on air through another node: its live manifest is still dynamic and was
    /// rewritten moments ago (an ingest node rewrites it every segment). A control node cannot see another node's
    /// streams; this is how it still refuses to delete a channel while it is being written.
    /// </summary>
    ValueTask<bool> IsWrittenElsewhereAsync(string slug, CancellationToken cancellationToken) => ValueTask.FromResult(false);

    /// <summary>
    /// Removes every object under <c>{slug}/</c> and returns how many there were. Throws when the store cannot be
    /// listed or the deletion does not reach it; then nothing is promised about what is left.
    /// </summary>
    ValueTask<int> DeleteAllAsync(string slug, CancellationToken cancellationToken);
}

/// <summary>The stand-in when no store is wired (a control host in tests): there is no media to delete.</summary>
internal sealed class NoChannelMedia : IChannelMedia
{
    public bool IsWriting(string slug) => false;

    public ValueTask<int> DeleteAllAsync(string slug, CancellationToken cancellationToken) => ValueTask.FromResult(0);
}

/// <summary>What <see cref="ChannelDeletion.DeleteAsync"/> came to.</summary>
public enum ChannelDeletionOutcome
{
    Deleted,
    NotFound,

    /// <summary>
    /// The channel is on air on this node (or waiting for its encoder to reconnect, or its ended broadcast's final
    /// manifests are still being written), or the store shows it on air through another node: nothing was deleted.
    /// </summary>
    Live,

    /// <summary>The store could not be listed or emptied: the channel (and its private flag) stays; try again.</summary>
    StoreFailed,
}

/// <summary>
/// Deleting a channel. A private channel's private flag goes with its row, so its media must not outlive the row:
/// a live channel is refused (end the broadcast first), and otherwise the media (live objects and recordings) is
/// deleted from the store <em>before</em> the row, so a failure leaves the channel (and its private flag) in place
/// to try again, never media without its channel. A slug freed this way starts empty for the next channel that
/// takes it. A publish that slips in between, or a broadcast held by another ingest node that this node cannot see,
/// is ended by that ingest node as soon as it hears of the deletion (<see cref="Events.EventWindowEnforcer"/>), and what
/// it stored is removed then (<see cref="Recordings.FinishedBroadcasts"/>).
/// </summary>
public sealed partial class ChannelDeletion(ChannelService channels, IChannelLiveStatus live, IChannelMedia media, PlaybackAccessService playback,
    ILogger<ChannelDeletion> logger)
{
    public async Task<ChannelDeletionOutcome> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        var channel = await channels.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (channel is null)
        {
            return ChannelDeletionOutcome.NotFound;
        }

        var state = await live.GetAsync(channel, cancellationToken).ConfigureAwait(false);
        if (state.Online || media.IsWriting(channel.Slug)
            || await media.IsWrittenElsewhereAsync(channel.Slug, cancellationToken).ConfigureAwait(false))
        {
            return ChannelDeletionOutcome.Live;
        }

        int objects;
        try
        {
            objects = await media.DeleteAllAsync(channel.Slug, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogMediaDeleteFailed(e, id, channel.Slug);
            return ChannelDeletionOutcome.StoreFailed;
        }

        if (!await channels.DeleteAsync(id, cancellationToken).ConfigureAwait(false))
        {
            return ChannelDeletionOutcome.NotFound;
        }

        LogMediaDeleted(id, channel.Slug, objects);
        // This node's view of the private channels follows at once (other nodes at their next refresh; until then the
        // slug still counts as private there, which refuses rather than serves).
        await playback.RefreshAsync(cancellationToken).ConfigureAwait(false);
        return ChannelDeletionOutcome.Deleted;
    }

    [LoggerMessage(EventId = 3007, Level = LogLevel.Information, Message = "Channel {ChannelId} ({Slug}) deleted with its {Objects} stored objects")]
    private partial void LogMediaDeleted(string channelId, string slug, int objects);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Warning,
        Message = "Deleting the stored objects of channel {ChannelId} ({Slug}) failed; the channel is kept")]
    private partial void LogMediaDeleteFailed(Exception exception, string channelId, string slug);
}
