namespace Broadcast.Control.Channels;

/// <summary>Whether a channel is on air right now, as the pipeline sees it.</summary>
/// <param name="Online">A publisher is connected and media is flowing.</param>
/// <param name="Since">When the current publish started.</param>
/// <param name="Viewers">Current viewer count when the origin knows it.</param>
public sealed record ChannelLiveState(bool Online, DateTimeOffset? Since = null, long? Viewers = null)
{
    public static ChannelLiveState Offline { get; } = new(false);
}

/// <summary>
/// Live status of channels. Owned by control (its consumer); the server implements it over the
/// pipeline's live-stream registry. Without one, every channel reads as offline.
/// </summary>
public interface IChannelLiveStatus
{
    ValueTask<ChannelLiveState> GetAsync(Channel channel, CancellationToken cancellationToken);
}

/// <summary>The stand-in when no pipeline is wired (control role alone, tests).</summary>
public sealed class OfflineChannelLiveStatus : IChannelLiveStatus
{
    public ValueTask<ChannelLiveState> GetAsync(Channel channel, CancellationToken cancellationToken)
        => ValueTask.FromResult(ChannelLiveState.Offline);
}
