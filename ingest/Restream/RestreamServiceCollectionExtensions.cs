using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Broadcast.Ingest.Restream;

public static class RestreamServiceCollectionExtensions
{
    /// <summary>
    /// Registers the <see cref="RestreamSupervisor"/> (options from the "Restream" section) as a hosted service. The
    /// composition root registers <see cref="IRestreamDestinationSource"/>; without one nothing is restreamed.
    /// </summary>
    internal static IServiceCollection AddRestream(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<RestreamOptions>()
            .Bind(configuration.GetSection(RestreamOptions.SectionName))
            .Validate(o => o.BackoffInitialSeconds > 0 && o.BackoffMaxSeconds >= o.BackoffInitialSeconds,
                "Restream:BackoffInitialSeconds must be positive and at most Restream:BackoffMaxSeconds.")
            .Validate(o => o.QueueFrames is >= 16 and <= 100_000, "Restream:QueueFrames must be 16..100000.")
            .Validate(o => o.ConnectTimeoutSeconds > 0 && o.WriteTimeoutSeconds > 0, "Restream timeouts must be positive.")
            .Validate(o => o.ChunkSize is >= 128 and <= 65536, "Restream:ChunkSize must be 128..65536.")
            .Validate(o => o.RefreshSeconds >= 0, "Restream:RefreshSeconds must be 0 (off) or positive.");
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IRestreamDestinationSource, NoRestreamDestinations>();
        services.TryAddSingleton<RestreamSupervisor>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<RestreamSupervisor>());
        return services;
    }
}
