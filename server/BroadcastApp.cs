using Broadcast.Control;
using Broadcast.Control.Api;
using Broadcast.Control.Channels;
using Broadcast.Control.Dashboard;
using Broadcast.Control.Events;
using Broadcast.Control.Recordings;
using Broadcast.Control.Security.ApiKeys;
using Broadcast.Packager.Live;
using Broadcast.Control.Persistence;
using Broadcast.Ingest;
using Broadcast.Media;
using Broadcast.Origin;
using Broadcast.Protection;
using Broadcast.Packager;
using Broadcast.Storage;
using Broadcast.Clips;
using Broadcast.Observability;
using Broadcast.Observability.Metrics;
using Broadcast.Publish;
using Broadcast.Refusals;
using Serilog;

namespace Broadcast.Server;

/// <summary>
/// The composition root: reads configuration, picks the roles this process runs and wires each module through
/// its own Add…/Map… extension. Nothing else lives here.
/// </summary>
public static class BroadcastApp
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        // ./data and the other relative paths in configuration are relative to where the server was started.
        builder.Configuration.SetBasePath(Directory.GetCurrentDirectory());
        var configuration = builder.Configuration;
        var roles = ServerRoles.Parse(configuration["Roles"]);

        builder.WebHost.UseUrls(configuration["Http:Urls"] is { Length: > 0 } urls ? urls : "http://0.0.0.0:8080");
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);

        var logger = ServerLogging.CreateLogger(configuration);
        builder.Logging.ClearProviders();
        builder.Logging.AddSerilog(logger, dispose: true);
        // For Serilog's provider by name: AddSerilog passes every category to it with a rule of its own, which a rule for
        // all providers would not override.
        if (!ServerLogging.LogsRequests(configuration))
        {
            builder.Logging.AddFilter<Serilog.Extensions.Logging.SerilogLoggerProvider>(ServerLogging.RequestsCategory, LogLevel.None);
        }

        var services = builder.Services;
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new LiveStreamRegistry(sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(roles);
        // SIGTERM: live broadcasts end (final manifests) within the packager's drain, inside this bound; pending S3
        // uploads then flush while the container disposes (Storage:Queue:FlushTimeout).
        services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(configuration.GetValue("Shutdown:TimeoutSeconds", 25)));

        // Ingest nodes check stream keys against the same database the control plane writes; an origin-only node has no
        // database and takes private channels from a control node's snapshot.
        var controlParts = (roles.Control || roles.Ingest ? ControlParts.Database : roles.Origin ? ControlParts.RemotePlayback : ControlParts.None)
            | (roles.Control ? ControlParts.AdminSurface : ControlParts.None)
            | (roles.Ingest ? ControlParts.PublishPolicy : ControlParts.None);
        services.AddControl(configuration, controlParts);
        // Control nodes have the store too: deleting a channel or a recording deletes its media.
        if (roles.Ingest || roles.Origin || roles.Control) SegmentStoreSetup.AddSegmentStore(services, configuration, roles);
        if (roles.Control || roles.Ingest)
        {
            services.AddSingleton<IChannelMedia>(sp => new StoreChannelMedia(sp.GetRequiredService<ISegmentStore>(),
                sp.GetService<Broadcast.Storage.S3.S3SegmentStore>(), sp.GetService<LiveStreamRegistry>(), sp.GetService<LivePackager>()));
            // Each channel's protection setting, with keys from the built-in ClearKey provider or, with Protection:Cpix:Url,
            // a DRM vendor's CPIX key server (docs/protection.md): the packager's on an ingest node, and on a control node the
            // key a protected clip's ends are cut with and the dashboard's "Test key". Before AddPackager, which adds its clear
            // default only when no policy is registered.
            services.AddChannelProtection(configuration);
            // Clips (and a recording's media) where the store is; their segments held against retention, so before AddPackager.
            services.AddClips(configuration);
        }
        if (roles.Ingest)
        {
            services.AddPublishGate();
            // broadcast.started/reconnecting/resumed/ended webhooks from this node's hubs.
            services.AddHostedService<BroadcastWebhookFeed>();
            // Before AddPackager, which only adds its default policy when none is registered.
            services.AddSingleton<IRecordingPolicy, ChannelRecordingPolicy>();
            services.AddSingleton<ILowLatencyPolicy, ChannelLowLatencyPolicy>();
            services.AddSingleton<IRewindPolicy, ChannelRewindPolicy>();
            services.AddSingleton<IAudioTrackNames, ChannelAudioTrackNames>();
            services.AddSingleton<Broadcast.Control.Breaks.IAdBreakInserter, PipelineAdBreakInserter>();
            // Before AddTranscoder: its thumbnail service runs when the host says where thumbnails go.
            services.AddSingleton<Broadcast.Transcoder.Thumbnails.IThumbnailSink, StoreThumbnailSink>();
            // An ingest node that serves no media itself cannot tell which pictures are looked at: it renews them all.
            if (roles.Origin) services.AddSingleton<Broadcast.Transcoder.Thumbnails.IThumbnailLooks, OriginThumbnailLooks>();
            // Before AddPackager: hosted services stop in reverse order, so the packager's final broadcasts are booked.
            services.AddSingleton<Broadcast.Control.Recordings.FinishedBroadcasts>()
                .AddHostedService(sp => sp.GetRequiredService<Broadcast.Control.Recordings.FinishedBroadcasts>())
                .AddHostedService<PackagerFinishedBroadcasts>();
            services.AddPackager(configuration);
            Broadcast.Transcoder.TranscoderServiceCollectionExtensions.AddTranscoder(services, configuration)
                .AddSingleton<Broadcast.Packager.Live.IRenditionSource>(sp => new Broadcast.Packager.Live.DelegateRenditionSource(
                    sp.GetRequiredService<Broadcast.Transcoder.TranscoderService>().GetRenditionStreamsAsync));
            services.AddIngest(configuration);
            services.AddChannelLiveStatus();
            services.AddSingleton<Broadcast.Ingest.Restream.IRestreamDestinationSource, ControlRestreamDestinations>();
            services.AddSingleton<Broadcast.Control.Restream.IDestinationLiveStatus, PipelineDestinationLiveStatus>();
            // Real-time viewers (WHEP) are served where the hubs are: Janus is started when a real-time channel goes live,
            // or on the first request.
            services.AddSingleton<Broadcast.WebRtc.Whep.IRealTimeChannels, ChannelRealTimeSetting>();
            Broadcast.WebRtc.WebRtcServiceCollectionExtensions.AddWebRtc(services, configuration);
            services.AddPrograms(configuration);
            services.AddRooms();
        }
        // Private playback needs the channel database: every role that has it checks tokens (on its origin, and for
        // CDN edges at /playback/authorize).
        if (roles.Control || roles.Ingest) services.AddSingleton<IPlaybackAccess, ControlPlaybackAccess>();
        // The ClearKey license endpoint answers where the keys are: every node with the channel database.
        if (roles.Control || roles.Ingest) services.AddContentKeys();
        // A node without it (origin only) fetches private channels and signing keys from a control node and checks tokens
        // itself; its license asks that node for the content keys.
        else if (services.Any(d => d.ServiceType == typeof(Broadcast.Control.Playback.RemotePlaybackAccess)))
        {
            services.AddSingleton<IPlaybackAccess, RemoteOriginPlaybackAccess>();
            services.AddRemoteContentKeys();
        }
        // The audience kept per broadcast (#70), where viewers are served: sampled into the database, or on an origin-only
        // node handed to the control node.
        if (roles.Origin) services.AddAudienceSource();
        services.AddPullSources(configuration, control: roles.Control, ingest: roles.Ingest);
        if (roles.Origin) services.AddOrigin(configuration);
        // The dashboard's pathway card, where the admin UI and the steering server share a process.
        if (roles.Origin && roles.Control && services.Any(d => d.ServiceType == typeof(Broadcast.Origin.Steering.SteeringPathways)))
            services.AddSingleton<Broadcast.Control.Delivery.IDeliveryPathways, SteeringDeliveryPathways>();
        // An origin-only node plays real-time viewers too when it is told which ingest nodes to relay channels from.
        if (roles.Origin && !roles.Ingest)
            Broadcast.WebRtc.WebRtcServiceCollectionExtensions.AddRelayedWebRtc(services.AddRelayAdmission(), configuration);
        ObjectNotificationSetup.Add(services, configuration, roles);
        if (roles.Ingest || roles.Control) services.AddHostedService<StartupBanner>();
        services.AddProblemDetails();
        services.AddReadiness();

        // Read before Build so a bad entry fails the start with the rest of the configuration.
        var forwardedHeaders = TrustedProxies.From(configuration[TrustedProxies.ConfigurationKey]);
        var app = builder.Build();
        // First: everything after (sign-in rate limits, the cookie's Secure flag, logs) sees the client, not the proxy.
        if (forwardedHeaders is not null) app.UseForwardedHeaders(forwardedHeaders);
        // Next the origin: /live and /time ahead of routing and the rest (see UseOrigin), and the edge's token check on
        // every node that serves /live/ or holds the channel database. Then routing, for the endpoints below and the
        // middleware MapControl adds.
        app.UseOrigin((roles.Origin ? OriginRoutes.Media : OriginRoutes.None)
            | (roles.Control || roles.Ingest || roles.Origin ? OriginRoutes.PlaybackAuthorization : OriginRoutes.None));
        app.UseRouting();
        // The node's own routes under the error boundary each project puts on its routes (Broadcast.Refusals).
        var node = app.MapGroup("").WithRefusalBoundary();
        node.MapGet("/healthz", () => Results.Text("ok\n"));
        node.MapReadiness();
        node.MapMetrics();
        app.MapControl(controlParts);
        Broadcast.Origin.Protection.ClearKeyLicenseEndpoint.MapClearKeyLicense(app);
        // Content steering is answered where manifests are served; the operator's overrides where the admin API is.
        if (roles.Origin) Broadcast.Origin.Steering.SteeringEndpoints.MapSteering(app,
            roles.Control ? Broadcast.Control.Security.ControlAuth.AdminPolicy : null,
            steering => steering.RequireScopes(ApiScopes.SteeringRead, ApiScopes.SteeringWrite));
        if (roles.Ingest)
        {
            node.MapStoreStatus();
            Broadcast.WebRtc.Whep.WhepEndpoints.MapWhep(app);
            Broadcast.WebRtc.Relay.RealTimeFeedEndpoints.MapRealTimeFeed(app);
            Broadcast.WebRtc.Room.WhipEndpoints.MapWhip(app);
            // The studio's host routes are for a signed-in admin at the studio page, not a platform's backend.
            Broadcast.WebRtc.Room.RoomEndpoints.MapRoom(app, Broadcast.Control.Security.ControlAuth.AdminPolicy,
                host => host.AdminOnly());
        }
        else if (roles.Origin && app.Services.GetService<Broadcast.WebRtc.Whep.WhepService>() is not null)
        {
            Broadcast.WebRtc.Whep.WhepEndpoints.MapWhep(app);
        }
        return app;
    }
}
