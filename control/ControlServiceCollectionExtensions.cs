using Broadcast.Control.Api;
using Broadcast.Control.Channels;
using Broadcast.Control.Events;
using Broadcast.Control.Recordings;
using Broadcast.Control.Persistence;
using Broadcast.Control.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Broadcast.Control;

public static class ControlServiceCollectionExtensions
{
    /// <summary>
    /// Registers the control plane: database (migrated at start), channel service, stream-key
    /// protector, admin token, the "AdminBearer" scheme and the "admin" policy. Map the routes with
    /// <see cref="ControlEndpoints.MapControlApi"/>. Replace <see cref="IChannelLiveStatus"/> to report live state.
    /// </summary>
    public static IServiceCollection AddControl(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        var settings = ControlSettings.From(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(settings);
        services.AddSingleton(_ => ControlDatabase.Create(settings.DatabaseKind, settings.DatabaseConnectionString));
        services.AddSingleton<IChannelRepository, SqlChannelRepository>();
        services.AddSingleton(_ => new StreamKeyProtector(StreamKeyProtector.LoadSecret(settings.SecretKey, settings.SecretKeyPath)));
        services.AddSingleton(_ => new AdminToken(settings.AdminToken, settings.AdminTokenPath));
        services.AddSingleton<ChannelService>();
        services.AddSingleton<IEventRepository, SqlEventRepository>();
        services.AddSingleton<IRecordingRepository, SqlRecordingRepository>();
        services.AddSingleton<EventService>();
        services.AddSingleton<RecordingService>();
        services.TryAddSingleton<IBroadcastTerminator, NoBroadcastTerminator>();
        services.TryAddSingleton<IRecordingMedia, NoRecordingMedia>();
        services.AddSingleton<PublicUrls>();
        services.TryAddSingleton<IChannelLiveStatus, OfflineChannelLiveStatus>();
        services.AddHostedService<ControlStartup>();

        services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, AdminBearerAuthenticationHandler>(ControlAuth.BearerScheme, displayName: null, _ => { });
        services.AddAuthorizationBuilder()
            .AddPolicy(ControlAuth.AdminPolicy, policy => policy
                .AddAuthenticationSchemes(ControlAuth.BearerScheme)
                .RequireAuthenticatedUser()
                .RequireRole(ControlAuth.AdminRole));
        return services;
    }
}

/// <summary>
/// Brings the schema up to date and loads the secrets before the server accepts requests, so a bad
/// database or secret fails the start instead of the first publish.
/// </summary>
internal sealed class ControlStartup(ControlDatabase database, StreamKeyProtector protector, AdminToken token) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _ = protector;
        _ = token;
        await database.MigrateAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
