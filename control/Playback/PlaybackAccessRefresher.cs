using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Playback;

/// <summary>
/// Loads the private channels and signing keys before the server takes requests (so a private channel is never
/// served openly after a restart), then reloads them every <c>Playback:RefreshSeconds</c> (default 5) to pick up
/// changes made through another node. A failed reload keeps the last snapshot.
/// </summary>
internal sealed partial class PlaybackAccessRefresher(PlaybackAccessService access, TimeSpan interval, ILogger<PlaybackAccessRefresher> logger)
    : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await access.RefreshAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await access.RefreshAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRefreshFailed(e);
            }
        }
    }

    [LoggerMessage(EventId = 3804, Level = LogLevel.Warning,
        Message = "Reloading private channels and playback keys failed; the last ones stay in force")]
    private partial void LogRefreshFailed(Exception exception);
}
