using Broadcast.Compositor.Engine;
using Broadcast.Compositor.Inputs;
using Broadcast.Media;
using Broadcast.Processes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broadcast.Compositor;

public static class CompositorServiceCollectionExtensions
{
    /// <summary>
    /// The node's one <see cref="ProgramHost"/> (the API's programs and the rooms' shows share it: a channel runs one
    /// program) and its <see cref="ProgramSettings"/>, from <c>Program:*</c> (<see cref="ProgramOptions"/>) and the node's
    /// ffmpeg. <paramref name="feeds"/> opens the pulled inputs a program may have; null, or a factory that returns null: none.
    /// </summary>
    public static IServiceCollection AddCompositor(this IServiceCollection services, IConfiguration configuration,
        Func<IServiceProvider, IProgramFeeds?>? feeds = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var options = configuration.GetSection(ProgramOptions.SectionName).Get<ProgramOptions>() ?? new ProgramOptions();
        var settings = options.ToSettings(services.RequireFfmpeg(configuration, "programs").GetFfmpegLocator(configuration).Shared);
        services.AddSingleton(settings);
        services.AddSingleton(sp => new ProgramHost(sp.GetRequiredService<LiveStreamRegistry>(), settings,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("Broadcast.Compositor.Program"), feeds?.Invoke(sp)));
        return services;
    }
}
