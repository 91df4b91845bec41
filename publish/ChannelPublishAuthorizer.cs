using Broadcast.Control.Channels;
using Broadcast.Ingest;
using Broadcast.Media;

namespace Broadcast.Publish;

/// <summary>
/// Ingest's publish authorizer (RTMP, RTMPS, SRT) through the <see cref="PublishGate"/>: its decision carries the gate's
/// ticket, and a refusal's reason reaches the encoder. A stop on purpose is held as control's <see cref="PublishPolicy"/> says.
/// </summary>
internal sealed class ChannelPublishAuthorizer(PublishPolicy policy, PublishGate gate) : IPublishAuthorizer
{
    public async ValueTask<PublishDecision> AuthorizeAsync(PublishRequest request, CancellationToken cancellationToken) =>
        request.Protocol == "srt"
            ? await gate.AdmitSrtAsync(request, cancellationToken).ConfigureAwait(false)
            : await gate.AdmitRtmpAsync(request, cancellationToken).ConfigureAwait(false);

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
