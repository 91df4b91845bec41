using Broadcast.Control.Channels;

namespace Broadcast.Control.Events;

/// <summary>
/// Whether a broadcast starting now is recorded: the record flag of the channel's event in window. Null when the stream
/// has no channel or the channel no event now: the packager's default (<c>Packager:RecordByDefault</c>) decides then.
/// </summary>
public sealed class EventRecordingPolicy(ChannelService channels, EventService events, TimeProvider time)
{
    public async Task<bool?> ShouldRecordAsync(string slug, CancellationToken cancellationToken)
    {
        var channel = await channels.GetBySlugAsync(slug, cancellationToken).ConfigureAwait(false);
        if (channel is null) return null;
        var current = await events.FindCurrentAsync(channel.Id, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        return current?.Record;
    }
}
