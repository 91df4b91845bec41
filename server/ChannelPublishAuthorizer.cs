using Broadcast.Control.Channels;
using Broadcast.Control.Events;
using Broadcast.Ingest;
using Broadcast.Media;

namespace Broadcast.Server;

/// <summary>
/// Lets a stream key publish when it belongs to a channel that is not revoked and, for a channel with
/// RequireSchedule, only inside an event's window; the stream is named after the channel's slug. A refusal
/// becomes NetStream.Publish.BadName with the reason as its description (e.g. when the next event opens). A stop inside
/// the channel's live event is held like a drop until the event ends. A channel held by another ingest node's lease is
/// refused until that lease lapses.
/// </summary>
internal sealed class ChannelPublishAuthorizer(ChannelService channels, EventService events, ChannelLeases leases, TimeProvider time) : IPublishAuthorizer
{
    public async ValueTask<PublishDecision> AuthorizeAsync(PublishRequest request, CancellationToken cancellationToken)
    {
        if (!string.Equals(request.App, "live", StringComparison.Ordinal))
            return PublishDecision.Deny($"unknown application '{Truncate(request.App)}': " + (request.Protocol == "srt"
                ? "use the stream id #!::r=live/{streamKey},m=publish"
                : "publish to rtmp://HOST/live"));
        var lookup = await channels.FindByStreamKeyAsync(request.StreamKey, cancellationToken).ConfigureAwait(false);
        if (lookup.Channel is not { } channel)
            return PublishDecision.DenyKey(lookup.Reason ?? "stream key refused");

        var permission = await events.CanPublishAsync(channel, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (!permission.Allowed)
            return PublishDecision.Deny(permission.Reason ?? "publishing is not allowed now");
        // One ingest node at a time: a second encoder (or a backup URL on another node) waits for the holder's lease.
        if (await leases.TryAcquireAsync(channel, cancellationToken).ConfigureAwait(false) is { } holder)
            return PublishDecision.Deny($"channel '{channel.Slug}' is live on ingest node {holder.NodeId}; publish there, or again after "
                + $"{holder.ExpiresAt.UtcDateTime.ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture)} UTC when its lease lapses");
        // The event in window goes live now, so the dashboard and the late-start job see it at once.
        if (permission.Event is not null)
            await events.OnPublishedAsync(channel.Id, cancellationToken).ConfigureAwait(false);
        return PublishDecision.Allow(channel.Slug, channel.Id);
    }

    /// <summary>
    /// Inside the channel's live scheduled event, a stop is an operator restarting the encoder: the broadcast waits for it
    /// until the event's end (the event's end, or an admin's "End broadcast", ends it). Outside an event a stop ends it.
    /// </summary>
    public async ValueTask<TimeSpan?> HoldAfterStopAsync(PublishDecision decision, CancellationToken cancellationToken)
    {
        if (decision.ChannelId is not { } channelId) return null;
        var now = time.GetUtcNow();
        var current = await events.FindCurrentAsync(channelId, now, cancellationToken).ConfigureAwait(false);
        return current is { State: EventState.Live } && current.EndsAt > now ? current.EndsAt - now : null;
    }

    private static string Truncate(string value) => value.Length <= 32 ? value : value[..32] + "…";
}

/// <summary>The channel leases' view of this node's live streams (named after channel slugs).</summary>
internal sealed class RegistryStreamPresence(LiveStreamRegistry registry) : IChannelStreamPresence
{
    public bool IsLive(string slug) => registry.Find(slug) is not null;

    public void End(string slug)
    {
        if (registry.Find(slug) is { } stream) registry.EndPublish(stream);
    }
}
