using Broadcast.Media;
using Broadcast.Packager.Live;
using Broadcast.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Broadcast.Packager;

public static class PackagerServiceCollectionExtensions
{
    /// <summary>
    /// The live packager: options from <c>Packager</c> (validated at start-up), the filesystem store at
    /// <c>Storage:Path</c> unless another <see cref="ISegmentStore"/> is registered, the default recording policy,
    /// and <see cref="LivePackager"/> as a hosted service, <see cref="IPackagerStatus"/> and <see cref="IManifestNotifications"/>.
    /// </summary>
    public static IServiceCollection AddPackager(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<PackagerOptions>().Bind(configuration.GetSection(PackagerOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PackagerOptions>, PackagerOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new LiveStreamRegistry(sp.GetRequiredService<TimeProvider>()));
        string path = configuration["Storage:Path"] is { Length: > 0 } p ? p : "./data/media";
        services.TryAddSingleton<ISegmentStore>(_ => new FileSystemSegmentStore(path));
        services.TryAddSingleton<IRecordingPolicy, DefaultRecordingPolicy>();
        services.TryAddSingleton<ILowLatencyPolicy, DefaultLowLatencyPolicy>();
        services.TryAddSingleton<IRewindPolicy, DefaultRewindPolicy>();
        services.TryAddSingleton<IRetentionHold, NoRetentionHold>();
        // In the clear: nothing serves keys to players yet (docs/protection.md), so nothing turns encryption on.
        services.TryAddSingleton<IContentProtectionPolicy, NoContentProtection>();
        services.TryAddSingleton<LivePackager>();
        services.TryAddSingleton<IPackagerStatus>(sp => sp.GetRequiredService<LivePackager>());
        services.TryAddSingleton<IManifestNotifications>(sp => sp.GetRequiredService<LivePackager>());
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<LivePackager>());
        return services;
    }
}
