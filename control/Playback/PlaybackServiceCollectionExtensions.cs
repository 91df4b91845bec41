using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
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
        services.AddSingleton<PlaybackAccessService>();
        services.AddHostedService(sp => new PlaybackAccessRefresher(sp.GetRequiredService<PlaybackAccessService>(), interval,
            sp.GetRequiredService<ILogger<PlaybackAccessRefresher>>()));
        return services;
    }

    /// <summary><c>Playback:RefreshSeconds</c> (default 5, 1–300): how often a node reloads who may play what,
    /// with or without the database.</summary>
    internal static TimeSpan RefreshInterval(IConfiguration configuration) =>
        TimeSpan.FromSeconds(int.TryParse(configuration["Playback:RefreshSeconds"], NumberStyles.None,
            CultureInfo.InvariantCulture, out int s) && s is >= 1 and <= 300 ? s : 5);
}
