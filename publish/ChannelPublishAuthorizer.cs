using Broadcast.Control.Channels;
using Broadcast.Ingest;
using Broadcast.Media;
using Broadcast.Packager.Live;
using Microsoft.Extensions.Options;

namespace Broadcast.Publish;

/// <summary>
/// Ingest's publish authorizer over the control plane's <see cref="PublishPolicy"/>: a refusal's reason reaches the
/// encoder. An accepted publish (this node now holds the channel's lease) goes through the <see cref="PublishGate"/>,
/// which continues a broadcast of the channel that a dead node left unfinished within the reconnect grace.
/// </summary>
internal sealed class ChannelPublishAuthorizer(PublishPolicy policy, PublishGate gate) : IPublishAuthorizer
{
    public async ValueTask<PublishDecision> AuthorizeAsync(PublishRequest request, CancellationToken cancellationToken)
    {
        var caller = new PublishCaller(request.RemoteEndPoint?.Address, request.Encoder);
        var verdict = await policy.DecideAsync(request.App, request.StreamKey, request.Protocol, caller, cancellationToken).ConfigureAwait(false);
        if (verdict is { Allowed: true, Slug: { } allowed }) await gate.ContinueAsync(allowed, cancellationToken).ConfigureAwait(false);
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

/// <summary>Control's view of this node's live streams (named after channel slugs), over the pipeline's registry.</summary>
internal sealed class RegistryStreamPresence : IChannelStreamPresence
{
    private readonly LiveStreamRegistry _registry;

    public RegistryStreamPresence(LiveStreamRegistry registry)
    {
        _registry = registry;
        registry.Published += stream => Started?.Invoke(OnAir(stream));
    }

    public event Action<OnAirStream>? Started;

    IReadOnlyCollection<OnAirStream> IChannelStreamPresence.OnAir => [.. _registry.Active.Select(OnAir)];

    public OnAirStream? Find(string slug) => _registry.Find(slug) is { } stream ? OnAir(stream) : null;

    public bool End(string slug)
    {
        if (_registry.Find(slug) is not { } stream) return false;
        _registry.EndPublish(stream);
        return true;
    }

    private static OnAirStream OnAir(LiveStream stream) => new(stream.Name, stream.StartedAt);
}
