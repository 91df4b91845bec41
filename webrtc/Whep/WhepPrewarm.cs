using Broadcast.Media;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.WebRtc.Whep;

/// <summary>Which live channels are played in real time first (their <c>realTime</c> setting): the host answers from its channel database.</summary>
public interface IRealTimeChannels
{
    ValueTask<bool> IsRealTimeAsync(string channel, CancellationToken cancellationToken);
}

/// <summary>No channel is real-time: a node without a channel database warms nothing and starts on the first viewer.</summary>
public sealed class NoRealTimeChannels : IRealTimeChannels
{
    public ValueTask<bool> IsRealTimeAsync(string channel, CancellationToken cancellationToken) => ValueTask.FromResult(false);
}

/// <summary>
/// Warms a real-time channel when its publish starts: its RTP ffmpeg runs (and its keyframe cache fills) and this node's
/// Janus starts, so the channel's first WHEP viewer waits for neither (bench/RESULTS.md: its first frame a median 0.66 s
/// after its POST, against 0.80 s unwarmed; a later viewer's about 0.35 s). The warmth ends with the publish, after
/// <see cref="WhepOptions.IdleStop"/> when no viewer holds the channel. Channels not marked real-time start on their first viewer.
/// </summary>
public sealed partial class WhepPrewarm(LiveStreamRegistry registry, WhepService whep, IRealTimeChannels channels, ILogger<WhepPrewarm> logger)
    : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        registry.Published += OnPublished;
        registry.Unpublished += OnUnpublished;
        // A channel already live when this starts (none at a normal start; a test host may publish first).
        foreach (var stream in registry.Active) OnPublished(stream);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        registry.Published -= OnPublished;
        registry.Unpublished -= OnUnpublished;
        await _stopping.CancelAsync().ConfigureAwait(false);
    }

    public void Dispose() => _stopping.Dispose();

    private void OnPublished(LiveStream stream)
    {
        if (!whep.Enabled) return;
        _ = WarmAsync(stream);
    }

    private void OnUnpublished(LiveStream stream) => whep.ReleaseWarm(stream.Name);

    private async Task WarmAsync(LiveStream stream)
    {
        try
        {
            if (!await channels.IsRealTimeAsync(stream.Name, _stopping.Token).ConfigureAwait(false)) return;
            if (stream.IsCompleted) return;
            whep.HoldWarm(stream.Name);
            // The publish may have ended while the setting was read: its Unpublished found nothing to release.
            if (stream.IsCompleted && registry.Find(stream.Name) is not { IsCompleted: false }) whep.ReleaseWarm(stream.Name);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // The channel's first viewer then starts it, as for any channel.
            LogWarmFailed(stream.Name, e.Message);
        }
    }

    [LoggerMessage(EventId = 8208, Level = LogLevel.Warning,
        Message = "WHEP {Channel}: could not warm the real-time channel ({Reason}); its first viewer starts it")]
    private partial void LogWarmFailed(string channel, string reason);
}
