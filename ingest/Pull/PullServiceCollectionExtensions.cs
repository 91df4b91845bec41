using Broadcast.Media;
using Broadcast.Network.Outbound;
using Broadcast.Processes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Ingest.Pull;

public static class PullServiceCollectionExtensions
{
    /// <summary>
    /// Pull sources: <see cref="PullOptions"/> from <c>Pull</c> (read now: a bad value stops start-up naming its key) and the
    /// <see cref="PullSupervisor"/> (also a hosted service, so shutdown stops every ffmpeg). Nothing runs until someone calls
    /// <see cref="PullSupervisor.Apply"/>. The composition registers the <see cref="OutboundGuard"/> that vets every network source
    /// and the publish gate's <see cref="IPullAdmission"/>.
    /// </summary>
    internal static IServiceCollection AddPull(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = PullOptions.FromConfiguration(configuration, services.GetFfmpegLocator(configuration));
        services.RequireFfmpeg(configuration, "pull sources (Pull:Enabled)", PullOptions.SectionName);
        services.AddSingleton(options);
        services.AddSingleton(sp => new PullSupervisor(sp.GetRequiredService<LiveStreamRegistry>(), options, sp.GetRequiredService<OutboundGuard>(),
            sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<IPullAdmission>(), sp.GetService<TimeProvider>()));
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<PullSupervisor>());
        return services;
    }
}
