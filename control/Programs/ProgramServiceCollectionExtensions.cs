using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Programs;

internal static class ProgramServiceCollectionExtensions
{
    /// <summary>Programs and their resumption; the server replaces the runner on nodes with the pipeline.</summary>
    public static IServiceCollection AddPrograms(this IServiceCollection services)
    {
        services.AddSingleton<IProgramRepository, SqlProgramRepository>();
        Microsoft.Extensions.DependencyInjection.Extensions.ServiceCollectionDescriptorExtensions.TryAddSingleton<IProgramRunner, NoProgramRunner>(services);
        services.AddSingleton<ProgramService>();
        services.AddHostedService<ProgramResumer>();
        return services;
    }
}
