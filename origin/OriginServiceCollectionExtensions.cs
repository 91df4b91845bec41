using Broadcast.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Broadcast.Origin;

public static class OriginServiceCollectionExtensions
{
    /// <summary>Service key under which the store that <see cref="RecentObjectCache"/> wraps stays registered.</summary>
    public const string InnerStoreKey = "Broadcast.Origin.InnerSegmentStore";

    /// <summary>
    /// Registers the origin: options from the <c>Origin</c> section, the viewer counter, and
    /// <see cref="RecentObjectCache"/> around the <see cref="ISegmentStore"/> registered before this call, so the
    /// packager's writes (through the same ISegmentStore) land in the origin's memory. Call it after the store
    /// registration.
    /// </summary>
    public static IServiceCollection AddOrigin(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.AddOptions<OriginOptions>()
            .Bind(configuration.GetSection(OriginOptions.SectionName))
            .Validate(static o => o.CacheBytes >= 0, "Origin:CacheBytes must not be negative.")
            .Validate(static o => o.ViewerWindow > TimeSpan.Zero, "Origin:ViewerWindow must be positive.")
            .Validate(static o => o.CmcdMaxSessionsPerChannel is > 0 and <= 1_000_000, "Origin:CmcdMaxSessionsPerChannel must be between 1 and 1000000.")
            .Validate(static o => o.EndedManifestMaxAgeSeconds >= 0, "Origin:EndedManifestMaxAgeSeconds must not be negative.")
            .Validate(static o => o.BlockingRecheckMilliseconds is >= 0 and <= 10_000,
                "Origin:BlockingRecheckMilliseconds must be between 0 (puts only) and 10000.")
            .Validate(static o => o.EdgeLogPort is >= 0 and <= 65_535, "Origin:EdgeLogPort must be between 0 (off) and 65535.")
            .Validate(static o => o.EdgeLogPort == 0 || (Broadcast.Network.IpNetworks.TryParseList(o.EdgeLogSources, out var sources, out _) && sources.Count > 0),
                "Origin:EdgeLogSources must list the edges (addresses or CIDR networks) when Origin:EdgeLogPort is set.")
            .Validate(static o => o.EdgeLogPort == 0 || System.Net.IPAddress.TryParse(o.EdgeLogAddress, out _),
                "Origin:EdgeLogAddress must be an IP address.")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ViewerCounter>();
        services.TryAddSingleton<IViewerCounter>(static sp => sp.GetRequiredService<ViewerCounter>());
        services.TryAddSingleton<Cmcd.CmcdAudience>();
        services.TryAddSingleton(static sp => new ViewerSessions(sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<OriginAudience>();
        services.TryAddSingleton<ThumbnailLooks>();
        services.TryAddSingleton<ObjectArrivals>();
        services.TryAddSingleton<LowLatencyGate>();
        services.TryAddSingleton<OriginRequestHandler>();
        services.TryAddSingleton<OriginMetrics>();
        if (configuration.GetSection(OriginOptions.SectionName).GetValue<int>(nameof(OriginOptions.EdgeLogPort)) > 0)
        {
            services.TryAddSingleton<EdgeLog.EdgeAccessLogReceiver>();
            services.AddHostedService(static sp => sp.GetRequiredService<EdgeLog.EdgeAccessLogReceiver>());
        }

        AddSteering(services, configuration);
        DecorateStore(services);
        return services;
    }

    /// <summary>Content steering, when <c>Steering:Pathways</c> lists any: the manifests' rewrite, the probes and the decisions.</summary>
    private static void AddSteering(IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(Steering.SteeringOptions.SectionName);
        if (!section.GetSection(nameof(Steering.SteeringOptions.Pathways)).GetChildren().Any()) return;
        services.AddOptions<Steering.SteeringOptions>().Bind(section)
            .Validate(static o => o.Validate() is null, "Steering: invalid settings (see the error above)")
            .ValidateOnStart();
        // Validate() names the fault; the options validation above only fails the start.
        string? fault = section.Get<Steering.SteeringOptions>()?.Validate();
        if (fault is not null) throw new InvalidOperationException(fault);
        services.TryAddSingleton<Steering.SteeringPathways>();
        services.TryAddSingleton<Steering.SteeredManifests>();
        services.AddHostedService<Steering.PathwayProber>();
        services.AddHostedService<Steering.SteeringOverrides>();
    }

    /// <summary>
    /// Moves the existing ISegmentStore registration under <see cref="InnerStoreKey"/> (the container still
    /// creates and disposes it) and registers the cache in its place. No scanning, no decorator library.
    /// </summary>
    private static void DecorateStore(IServiceCollection services)
    {
        ServiceDescriptor? existing = null;
        for (int i = services.Count - 1; i >= 0; i--)
        {
            ServiceDescriptor d = services[i];
            if (d.ServiceType == typeof(ISegmentStore) && !d.IsKeyedService)
            {
                existing = d;
                break;
            }
        }

        if (existing is null)
        {
            throw new InvalidOperationException("AddOrigin needs an ISegmentStore registration first: register the store, then call AddOrigin.");
        }

        if (existing.ImplementationType == typeof(RecentObjectCache)
            || (existing.ImplementationFactory?.Method.DeclaringType == typeof(OriginServiceCollectionExtensions)))
        {
            // AddOrigin called twice: already decorated.
            return;
        }

        services.Remove(existing);
        ServiceDescriptor inner = existing switch
        {
            { ImplementationInstance: { } instance } => new ServiceDescriptor(typeof(ISegmentStore), InnerStoreKey, instance),
            { ImplementationFactory: { } factory }
                => new ServiceDescriptor(typeof(ISegmentStore), InnerStoreKey, (sp, _) => factory(sp), ServiceLifetime.Singleton),
            { ImplementationType: { } type } => new ServiceDescriptor(typeof(ISegmentStore), InnerStoreKey, type, ServiceLifetime.Singleton),
            _ => throw new InvalidOperationException("Unsupported ISegmentStore registration."),
        };
        services.Add(inner);
        services.AddSingleton<ISegmentStore>(CreateCache);
        services.TryAddSingleton(static sp => (RecentObjectCache)sp.GetRequiredService<ISegmentStore>());
    }

    private static RecentObjectCache CreateCache(IServiceProvider sp)
    {
        RecentObjectCache cache = new(
            sp.GetRequiredKeyedService<ISegmentStore>(InnerStoreKey),
            sp.GetRequiredService<IOptions<OriginOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<RecentObjectCache>>());
        // Every put wakes the LL-HLS requests waiting in its folder.
        cache.Stored += sp.GetRequiredService<ObjectArrivals>().Notify;
        return cache;
    }
}
