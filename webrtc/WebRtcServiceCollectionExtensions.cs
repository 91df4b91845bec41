using Broadcast.WebRtc.Janus;
using Broadcast.WebRtc.Whep;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.WebRtc;

public static class WebRtcServiceCollectionExtensions
{
    /// <summary>Real-time playback: the node's Janus (started on the first WHEP request) and the WHEP sessions. Needs the node's hubs (ingest).</summary>
    public static IServiceCollection AddWebRtc(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.Configure<JanusOptions>(configuration.GetSection(JanusOptions.Section));
        services.Configure<WhepOptions>(configuration.GetSection(WhepOptions.Section));
        services.AddSingleton<JanusSupervisor>();
        services.AddHostedService(sp => sp.GetRequiredService<JanusSupervisor>());
        services.AddSingleton<WhepService>();
        return services;
    }
}
