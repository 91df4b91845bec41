using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Broadcast.Processes;

public static class FfmpegServiceCollectionExtensions
{
    /// <summary>
    /// The node's one <see cref="FfmpegLocator"/>: the one already registered (a test's, or an earlier part's), else one
    /// from <paramref name="configuration"/>, registered now. Parts that read their options at registration take it from
    /// here; the others receive it from the container.
    /// </summary>
    public static FfmpegLocator GetFfmpegLocator(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.LastOrDefault(d => d.ServiceType == typeof(FfmpegLocator))?.ImplementationInstance is FfmpegLocator registered)
            return registered;
        var locator = FfmpegLocator.FromConfiguration(configuration);
        services.AddSingleton(locator);
        return locator;
    }

    /// <summary>
    /// Declares that <paramref name="part"/> runs ffmpeg on this node: the host does not start when that ffmpeg is
    /// missing (<see cref="FfmpegStartupCheck"/>, the first hosted service to start). A node none of whose parts declares
    /// one starts without ffmpeg.
    /// </summary>
    public static IServiceCollection RequireFfmpeg(this IServiceCollection services, IConfiguration configuration, string part,
        string? section = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(part);
        services.GetFfmpegLocator(configuration);
        services.AddSingleton(new FfmpegRequirement(part, section));
        if (!services.Any(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(FfmpegStartupCheck)))
            services.Insert(0, ServiceDescriptor.Singleton<IHostedService, FfmpegStartupCheck>());
        return services;
    }
}

/// <summary>Refuses to start a node when a part that needs ffmpeg (<see cref="FfmpegRequirement"/>) would not find it.</summary>
internal sealed class FfmpegStartupCheck(FfmpegLocator locator, IEnumerable<FfmpegRequirement> requirements) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        locator.Check(requirements);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
