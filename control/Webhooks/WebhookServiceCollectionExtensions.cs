using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Webhooks;

public static class WebhookServiceCollectionExtensions
{
    /// <summary>
    /// Webhooks out on every node with the database: endpoints, the outbox, the broadcast events' queue and the delivery
    /// worker (every node runs one; the claim shares the work) with the retry schedule of <c>Webhooks:RetryDelays</c>. Add after the migrating startup service.
    /// </summary>
    internal static IServiceCollection AddWebhooks(this IServiceCollection services, IConfiguration configuration)
    {
        // Read now: a bad Webhooks:RetryDelays stops the start with its error.
        services.AddSingleton(WebhookBackoff.From(configuration));
        services.AddSingleton<SqlWebhookEndpointRepository>();
        services.AddSingleton<SqlWebhookDeliveries>();
        services.AddSingleton<WebhookOutbox>();
        services.AddSingleton<WebhookEndpointService>();
        services.AddSingleton<WebhookDispatcher>();
        services.AddHostedService<WebhookDeliveryWorker>();
        services.AddSingleton<BroadcastWebhooks>();
        services.AddHostedService(sp => sp.GetRequiredService<BroadcastWebhooks>());
        return services;
    }
}
