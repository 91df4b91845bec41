using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Programs;

/// <summary>
/// The program keeper: once the host has started (the pipeline's readers of the hub are up by then), and then every
/// <c>Program:KeeperSeconds</c> (default 5), <see cref="ProgramService.KeepAsync"/>: stored programs resume at start,
/// move to this node when theirs died, go on air when their channel's event window opens, and a failed one is retried.
/// </summary>
internal sealed partial class ProgramResumer(ProgramService programs, IProgramRunner runner, IHostApplicationLifetime lifetime,
    IConfiguration configuration,
    TimeProvider time, ILogger<ProgramResumer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var every = KeeperInterval(configuration);
        runner.Ended += slug => _ = OnEndedAsync(slug, stoppingToken);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            try { await started.Task.ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
        // The keeper stops as soon as the node starts shutting down: the programs stop before this service does, and a pass
        // in between would start them again on a node that is going away.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, lifetime.ApplicationStopping);
        using var timer = new PeriodicTimer(every, time);
        do
        {
            try
            {
                await programs.KeepAsync(stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (!stopping.IsCancellationRequested)
            {
                // The database away for a moment: the next pass tries again.
                LogPassFailed(ex);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
        }
        while (await WaitAsync(timer, stopping.Token).ConfigureAwait(false));
    }

    private async Task OnEndedAsync(string slug, CancellationToken stoppingToken)
    {
        try
        {
            await programs.OnBroadcastEndedAsync(slug, stoppingToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            LogEndedFailed(ex, slug);
        }
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary><c>Program:KeeperSeconds</c>: 1 to 300, default 5.</summary>
    public static TimeSpan KeeperInterval(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (configuration["Program:KeeperSeconds"] is not { Length: > 0 } text) return TimeSpan.FromSeconds(5);
        return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int seconds)
            && seconds is >= 1 and <= 300
            ? TimeSpan.FromSeconds(seconds)
            : throw new InvalidOperationException($"Program:KeeperSeconds '{text}' must be a whole number from 1 to 300.");
    }

    [LoggerMessage(EventId = 3906, Level = LogLevel.Warning, Message = "A pass of the program keeper failed; the next one tries again")]
    private partial void LogPassFailed(Exception ex);

    [LoggerMessage(EventId = 3908, Level = LogLevel.Error,
        Message = "The end of program {Slug}'s broadcast could not be recorded; its program stays stored")]
    private partial void LogEndedFailed(Exception ex, string slug);
}
