using Broadcast.Processes;
using Broadcast.WebRtc.Ice;
using Broadcast.WebRtc.Janus;
using Broadcast.WebRtc.Relay;
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
        AddJanusAndIce(services, configuration);
        // The hubs are here: each watched channel's RTP is made by ffmpeg.
        services.RequireFfmpeg(configuration, "WHEP", WhepOptions.Section);
        services.AddSingleton<WhepService>();
        // Live real-time channels are warmed before their first viewer; which ones they are comes from the host.
        services.TryAddSingleton<IRealTimeChannels, NoRealTimeChannels>();
        services.AddSingleton<WhepPrewarm>();
        services.AddHostedService(sp => sp.GetRequiredService<WhepPrewarm>());
        AddAuthorizationWatch(services);
        // The live room: its show (IRoomShow) and who may publish into it (IRoomPublishAuthorizer) come from the host.
        services.Configure<RoomOptions>(configuration.GetSection(RoomOptions.Section));
        services.AddSingleton<RoomService>();
        services.AddSingleton<RoomLobby>();
        return services;
    }

    /// <summary>
    /// Real-time playback on an origin-only node: its own Janus and WHEP sessions, fed by one relay per watched channel
    /// from the ingest node that has it (<see cref="WhepOptions.RelayFrom"/>, <see cref="ChannelRelays"/>). With no
    /// <c>Whep:RelayFrom</c> nothing is added: the node serves no WHEP (its viewers play LL-HLS).
    /// </summary>
    public static IServiceCollection AddRelayedWebRtc(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (!configuration.GetSection(WhepOptions.Section).GetSection(nameof(WhepOptions.RelayFrom)).GetChildren()
            .Any(c => !string.IsNullOrWhiteSpace(c.Value)))
            return services;
        AddJanusAndIce(services, configuration);
        services.AddSingleton<ChannelRelays>();
        services.AddSingleton(sp => new WhepService(sp.GetRequiredService<JanusSupervisor>(), sp.GetRequiredService<ChannelRelays>(),
            sp.GetRequiredService<IOptions<WhepOptions>>(), sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<WhepService>>()));
        // The ingest nodes' live real-time channels are warmed here too, before their first viewer on this node.
        services.AddHostedService<RelayPrewarm>();
        AddAuthorizationWatch(services);
        return services;
    }

    /// <summary>WHEP sessions end when their playback token or channel no longer lets them play (<see cref="WhepAuthorizationWatch"/>).</summary>
    private static void AddAuthorizationWatch(IServiceCollection services)
    {
        services.AddSingleton(sp => new WhepAuthorizationWatch(sp.GetRequiredService<WhepService>(),
            sp.GetService<Broadcast.Origin.IPlaybackAccess>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<WhepAuthorizationWatch>>()));
        services.AddHostedService(sp => sp.GetRequiredService<WhepAuthorizationWatch>());
    }

    private static void AddJanusAndIce(IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.Configure<JanusOptions>(configuration.GetSection(JanusOptions.Section));
        services.Configure<WhepOptions>(configuration.GetSection(WhepOptions.Section));
        // The node's ffmpeg: Transcode:FfmpegPath unless Whep:FfmpegPath names another.
        services.GetFfmpegLocator(configuration);
        services.AddOptions<WhepOptions>().PostConfigure<FfmpegLocator>((o, ffmpeg) => o.FfmpegPath = ffmpeg.For(WhepOptions.Section));
        // Between nodes: ingest nodes accept it on their relay feeds, origin-only nodes send it (the one node credential).
        services.TryAddSingleton(new RelayCredential(configuration[RelayCredential.ConfigurationKey]));
        // TURN for peers behind firewalls: a node whose Turn:* cannot work does not start.
        services.AddOptions<TurnOptions>().Bind(configuration.GetSection(TurnOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TurnOptions>, TurnOptionsValidator>());
        services.AddSingleton<IceServers>();
        // Relays whose credential expired are ended through the TURN server's admin CLI, where Turn:AdminAddress is set.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, TurnSessionSweeper>());
        services.AddSingleton<JanusSupervisor>();
        services.AddSingleton<IJanusClient>(sp => sp.GetRequiredService<JanusSupervisor>());
        services.AddHostedService(sp => sp.GetRequiredService<JanusSupervisor>());
    }
}
