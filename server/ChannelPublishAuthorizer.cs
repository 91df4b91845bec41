using Broadcast.Control.Channels;
using Broadcast.Ingest;
using Broadcast.Media;

namespace Broadcast.Server;

/// <summary>Ingest's publish authorizer over the control plane's <see cref="PublishPolicy"/>: a refusal's reason reaches the encoder.</summary>
internal sealed class ChannelPublishAuthorizer(PublishPolicy policy) : IPublishAuthorizer
{
    public async ValueTask<PublishDecision> AuthorizeAsync(PublishRequest request, CancellationToken cancellationToken)
    {
        var verdict = await policy.DecideAsync(request.App, request.StreamKey, request.Protocol, cancellationToken).ConfigureAwait(false);
        return verdict switch
        {
            { Allowed: true, Slug: { } slug, ChannelId: { } channelId } => PublishDecision.Allow(slug, channelId),
            { KeyRejected: true } => PublishDecision.DenyKey(verdict.Reason ?? "stream key refused"),
            _ => PublishDecision.Deny(verdict.Reason ?? "publishing is not allowed now"),
        };
    }

    public async ValueTask<TimeSpan?> HoldAfterStopAsync(PublishDecision decision, CancellationToken cancellationToken)
        => decision.ChannelId is { } channelId ? await policy.HoldAfterStopAsync(channelId, cancellationToken).ConfigureAwait(false) : null;
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
