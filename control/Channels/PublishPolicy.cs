using System.Globalization;
using Broadcast.Control.Events;

namespace Broadcast.Control.Channels;

/// <summary>The control plane's answer to "may this stream key publish now?" (ingest's protocols map it onto their own).</summary>
/// <param name="KeyRejected">The stream key itself was refused (unknown or revoked): ingest counts these against the address.</param>
public sealed record PublishVerdict(bool Allowed, string? Slug, string? ChannelId, string? Reason, bool KeyRejected = false)
{
    public static PublishVerdict Allow(Channel channel) => new(true, channel.Slug, channel.Id, null);

    public static PublishVerdict Deny(string reason, bool keyRejected = false) => new(false, null, null, reason, keyRejected);
}

/// <summary>
/// Who may publish: a stream key of a channel that is not revoked, for a channel with RequireSchedule only inside an
/// event's window, and only on the ingest node that holds (or takes) the channel's lease. An allowed publish of an event in
/// its window marks the event live at once. A stop inside the channel's live event is held like a drop until the event
/// ends. When the platform's publish callback is on (<see cref="PublishCallback"/>), it is asked last before the lease, for
/// encoders and WHIP publishers alike. The publish authorizer of the server maps this onto ingest's decision; the reasons
/// reach the encoder.
/// </summary>
public sealed class PublishPolicy(ChannelService channels, EventService events, ChannelLeases leases, PublishCallback callback,
    TimeProvider time, Webhooks.BroadcastWebhooks? webhooks = null)
{
    /// <summary>The application every publish URL names: <c>rtmp://HOST/live</c>, SRT stream id <c>#!::r=live/{key}</c>.</summary>
    public const string Application = "live";

    /// <param name="protocol"><c>rtmp</c>, <c>rtmps</c> or <c>srt</c>: what a refusal of a wrong application tells the encoder to use.</param>
    /// <param name="caller">The encoder's address and name, for the platform's publish callback.</param>
    public async Task<PublishVerdict> DecideAsync(string application, string streamKey, string protocol, PublishCaller caller,
        CancellationToken cancellationToken)
    {
        if (!string.Equals(application, Application, StringComparison.Ordinal))
            return PublishVerdict.Deny($"unknown application '{Truncate(application)}': " + (protocol == "srt"
                ? "use the stream id #!::r=live/{streamKey},m=publish"
                : "publish to rtmp://HOST/live"));
        var lookup = await channels.FindByStreamKeyAsync(streamKey, cancellationToken).ConfigureAwait(false);
        if (lookup.Channel is not { } channel)
            return PublishVerdict.Deny(lookup.Reason ?? "stream key refused", keyRejected: true);

        var permission = await events.CanPublishAsync(channel, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (!permission.Allowed)
            return Refused(channel, protocol, permission.Reason ?? "publishing is not allowed now");
        if (await AskPlatformAsync(channel, streamKey, protocol, caller, cancellationToken).ConfigureAwait(false) is { } platformRefusal)
            return Refused(channel, protocol, platformRefusal.Reason ?? "refused by the platform");
        // One ingest node at a time: a second encoder (or a backup URL on another node) waits for the holder's lease.
        if (await TakeLeaseAsync(channel, cancellationToken).ConfigureAwait(false) is { } refused) return Refused(channel, protocol, refused);
        // The event in window goes live now, so the dashboard and the late-start job see it at once.
        if (permission.Event is not null)
            await events.OnPublishedAsync(channel.Id, cancellationToken).ConfigureAwait(false);
        return PublishVerdict.Allow(channel);
    }

    /// <summary>
    /// Whether <paramref name="streamKey"/> may publish into its channel's live room now (WHIP): the key and the channel's
    /// schedule, as for an encoder. No lease: a room has several publishers, and its one broadcast is the show's.
    /// </summary>
    public async Task<PublishVerdict> DecideRoomPublishAsync(string streamKey, PublishCaller caller, CancellationToken cancellationToken)
    {
        var lookup = await channels.FindByStreamKeyAsync(streamKey, cancellationToken).ConfigureAwait(false);
        if (lookup.Channel is not { } channel)
            return PublishVerdict.Deny(lookup.Reason ?? "stream key refused", keyRejected: true);
        var permission = await events.CanPublishAsync(channel, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (!permission.Allowed) return Refused(channel, "whip", permission.Reason ?? "publishing is not allowed now");
        return await AskPlatformAsync(channel, streamKey, "whip", caller, cancellationToken).ConfigureAwait(false) is { } platformRefusal
            ? Refused(channel, "whip", platformRefusal.Reason ?? "refused by the platform")
            : PublishVerdict.Allow(channel);
    }

    /// <summary>
    /// A refusal of a known channel's publish, told to the platform's webhooks (<c>publish.refused</c>). A refused stream
    /// key names no channel and is not told: anyone can send one.
    /// </summary>
    private PublishVerdict Refused(Channel channel, string protocol, string reason)
    {
        webhooks?.PublishRefused(channel, protocol, reason);
        return PublishVerdict.Deny(reason);
    }

    /// <summary>Null when the platform's callback is off or allows the publish (or failed, and failures are allowed); else the refusal.</summary>
    private async Task<PublishVerdict?> AskPlatformAsync(Channel channel, string streamKey, string protocol, PublishCaller caller,
        CancellationToken cancellationToken)
    {
        if (!callback.Enabled) return null;
        var answer = await callback.AskAsync(channel, streamKey, protocol, caller, cancellationToken).ConfigureAwait(false);
        return answer.Outcome switch
        {
            PublishCallbackOutcome.Refused => PublishVerdict.Deny(answer.Reason ?? "refused by the platform"),
            PublishCallbackOutcome.Failed when callback.OnFailure == PublishCallbackFailure.Refuse =>
                PublishVerdict.Deny("the platform's publish check failed; try again shortly"),
            _ => null,
        };
    }

    /// <summary>
    /// Whether a live room's show may start on this node for channel <paramref name="slug"/>: it takes the channel's lease
    /// as an encoder's publish does (the room's publishers were let in by their key or grant already), so a room live on
    /// another node is refused here until that node's lease lapses.
    /// </summary>
    public async Task<PublishVerdict> DecideRoomShowAsync(string slug, CancellationToken cancellationToken)
    {
        if (await channels.GetBySlugAsync(slug, cancellationToken).ConfigureAwait(false) is not { } channel)
            return PublishVerdict.Deny($"no channel '{Truncate(slug)}'");
        return await TakeLeaseAsync(channel, cancellationToken).ConfigureAwait(false) is { } refused
            ? PublishVerdict.Deny(refused)
            : PublishVerdict.Allow(channel);
    }

    /// <summary>Takes the channel's lease for this node: null when this node holds it now, else why not (another node's).</summary>
    private async Task<string?> TakeLeaseAsync(Channel channel, CancellationToken cancellationToken) =>
        await leases.TryAcquireAsync(channel, cancellationToken).ConfigureAwait(false) is { } holder
            ? $"channel '{channel.Slug}' is live on ingest node {holder.NodeId}; publish there, or again after "
                + $"{holder.ExpiresAt.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture)} UTC when its lease lapses"
            : null;

    /// <summary>
    /// Inside the channel's live scheduled event, a stop is an operator restarting the encoder: the broadcast waits for it
    /// until the event's end (the event's end, or an admin's "End broadcast", ends it). Outside an event a stop ends it (null).
    /// </summary>
    public async Task<TimeSpan?> HoldAfterStopAsync(string channelId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var current = await events.FindCurrentAsync(channelId, now, cancellationToken).ConfigureAwait(false);
        return current is { State: EventState.Live } && current.EndsAt > now ? current.EndsAt - now : null;
    }

    private static string Truncate(string value) => value.Length <= 32 ? value : value[..32] + "…";
}
