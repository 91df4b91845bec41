using Broadcast.WebRtc.Ice;
using Broadcast.WebRtc.Janus;
using Broadcast.WebRtc.Room;
using Broadcast.WebRtc.Whep;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Broadcast.WebRtc;

public static class WebRtcServiceCollectionExtensions
{
    /// <summary>
    /// Real-time playback and the live room: the node's Janus (started on first use), the WHEP sessions and the rooms.
    /// Needs the node's hubs (ingest), an <see cref="IRoomShow"/> and an <see cref="IRoomPublishAuthorizer"/>.
    /// </summary>
    public static IServiceCollection AddWebRtc(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.Configure<JanusOptions>(configuration.GetSection(JanusOptions.Section));
        services.Configure<WhepOptions>(configuration.GetSection(WhepOptions.Section));
        // TURN for peers behind firewalls: a node whose Turn:* cannot work does not start.
        services.AddOptions<TurnOptions>().Bind(configuration.GetSection(TurnOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TurnOptions>, TurnOptionsValidator>());
        services.AddSingleton<IceServers>();
        services.AddSingleton<JanusSupervisor>();
        services.AddHostedService(sp => sp.GetRequiredService<JanusSupervisor>());
        services.AddSingleton<WhepService>();
        // Live real-time channels are warmed before their first viewer; which ones they are comes from the host.
        services.TryAddSingleton<IRealTimeChannels, NoRealTimeChannels>();
        services.AddSingleton<WhepPrewarm>();
        services.AddHostedService(sp => sp.GetRequiredService<WhepPrewarm>());
        // The live room: its show (IRoomShow) and who may publish into it (IRoomPublishAuthorizer) come from the host.
        services.Configure<RoomOptions>(configuration.GetSection(RoomOptions.Section));
        services.AddSingleton<RoomService>();
        services.AddSingleton<RoomLobby>();
        return services;
    }
}
