using System.Globalization;
using Microsoft.Extensions.Configuration;
using Broadcast.Control.Playback.Jwt;
using Broadcast.Control.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Playback;

public static class PlaybackServiceCollectionExtensions
{
    /// <summary>
    /// Private playback: <see cref="PlaybackAccessService"/> and its refresher. <c>Playback:RefreshSeconds</c> (default
    /// 5, 1–300) is how soon another node's change (a channel made private, a key rotation) is seen here; changes made
    /// through this node apply at once. Called by <c>AddControl</c>, after the database migration is registered.
    /// </summary>
    public static IServiceCollection AddPrivatePlayback(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var interval = RefreshInterval(configuration);
        services.AddPlaybackJwt(configuration);
        services.AddSingleton<PlaybackAccessService>();
        services.AddHostedService(sp => new PlaybackAccessRefresher(sp.GetRequiredService<PlaybackAccessService>(), interval,
            sp.GetRequiredService<ILogger<PlaybackAccessRefresher>>()));
        return services;
    }

    /// <summary>
    /// Platform JWTs (<c>Playback:Jwt:*</c>, <see cref="PlaybackJwtOptions"/>): the verifier (off when no key source is set), and
    /// with <c>Playback:Jwt:JwksUrl</c> the JWKS and its refresher. Checked at startup: a bad key or URL stops the node with its key's name.
    /// </summary>
    public static IServiceCollection AddPlaybackJwt(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = PlaybackJwtOptions.From(configuration);
        _ = new PlaybackJwtVerifier(options, TimeProvider.System); // the configured keys parse, or startup stops here
        services.TryAddSingleton(options);
        services.AddOutboundGuard(configuration);
        if (options.JwksUrl is not null)
        {
            services.TryAddSingleton(sp => new PlaybackJwks(options, sp.GetRequiredService<Broadcast.Network.Outbound.OutboundGuard>(),
                sp.GetService<TimeProvider>() ?? TimeProvider.System, sp.GetRequiredService<ILogger<PlaybackJwks>>()));
            services.AddHostedService(sp => new PlaybackJwksRefresher(sp.GetRequiredService<PlaybackJwks>(), options,
                sp.GetService<TimeProvider>() ?? TimeProvider.System));
        }

        services.TryAddSingleton(sp => new PlaybackJwtVerifier(options, sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetService<PlaybackJwks>()));
        return services;
    }

    /// <summary><c>Playback:RefreshSeconds</c> (default 5, 1–300): how often a node reloads who may play what,
    /// with or without the database.</summary>
    internal static TimeSpan RefreshInterval(IConfiguration configuration) =>
        TimeSpan.FromSeconds(int.TryParse(configuration["Playback:RefreshSeconds"], NumberStyles.None,
            CultureInfo.InvariantCulture, out int s) && s is >= 1 and <= 300 ? s : 5);
}
