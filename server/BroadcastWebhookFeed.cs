using Broadcast.Control.Webhooks;
using Broadcast.Media;
using Microsoft.Extensions.Hosting;

namespace Broadcast.Server;

/// <summary>
/// Tells control's webhooks (<see cref="BroadcastWebhooks"/>) of this node's broadcasts as the registry sees them: a
/// publish starting one, its encoder dropping (the reconnect grace begins) and coming back, and its end. The registry's
/// events fire on the publisher's path; <see cref="BroadcastWebhooks"/> only queues them.
/// </summary>
internal sealed class BroadcastWebhookFeed(LiveStreamRegistry registry, BroadcastWebhooks webhooks) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        registry.Published += OnPublished;
        registry.Interrupted += OnInterrupted;
        registry.Resumed += OnResumed;
        registry.Unpublished += OnUnpublished;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        registry.Published -= OnPublished;
        registry.Interrupted -= OnInterrupted;
        registry.Resumed -= OnResumed;
        registry.Unpublished -= OnUnpublished;
        return Task.CompletedTask;
    }

    // The publisher named its protocol as it began the stream (null only for a publisher that does not say).
    private void OnPublished(LiveStream stream) => webhooks.Started(stream.Name, stream.StartedAt, stream.Protocol);

    private void OnInterrupted(LiveStream stream) => webhooks.Reconnecting(stream.Name, stream.StartedAt, stream.ReconnectDeadline);

    private void OnResumed(LiveStream stream) => webhooks.Resumed(stream.Name, stream.StartedAt);

    private void OnUnpublished(LiveStream stream) => webhooks.Ended(stream.Name, stream.StartedAt);
}
