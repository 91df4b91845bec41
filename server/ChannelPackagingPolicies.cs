using Broadcast.Control.Channels;
using Broadcast.Control.Events;
using Broadcast.Media;
using Broadcast.Packager;
using Broadcast.Packager.Live;
using Microsoft.Extensions.Options;

namespace Broadcast.Server;

/// <summary>Packages a broadcast for low latency when its channel says so (<c>lowLatency</c>);
/// a stream with no channel follows <c>Packager:LowLatencyByDefault</c>.</summary>
internal sealed class ChannelLowLatencyPolicy(ChannelService channels, IOptions<PackagerOptions> options) : ILowLatencyPolicy
{
    public async ValueTask<bool> IsLowLatencyAsync(LiveStream stream, CancellationToken cancellationToken)
    {
        var channel = await channels.GetBySlugAsync(stream.Name, cancellationToken).ConfigureAwait(false);
        return channel?.LowLatency ?? options.Value.LowLatencyByDefault;
    }
}

/// <summary>A broadcast's rewind window is its channel's <c>rewindSeconds</c>; a channel without one (or a stream with no
/// channel) follows <c>Packager:DvrSeconds</c>.</summary>
internal sealed class ChannelRewindPolicy(ChannelService channels, IOptions<PackagerOptions> options) : IRewindPolicy
{
    public async ValueTask<int> RewindSecondsAsync(LiveStream stream, CancellationToken cancellationToken)
    {
        var channel = await channels.GetBySlugAsync(stream.Name, cancellationToken).ConfigureAwait(false);
        return channel?.RewindSeconds ?? options.Value.DvrSeconds;
    }
}

/// <summary>The encoder's untagged audio tracks take their channel's <c>audioTracks</c> names; a stream with no channel has none.</summary>
internal sealed class ChannelAudioTrackNames(ChannelService channels) : IAudioTrackNames
{
    public async ValueTask<IReadOnlyList<AudioLabel>> AudioTrackNamesAsync(LiveStream stream, CancellationToken cancellationToken)
    {
        var channel = await channels.GetBySlugAsync(stream.Name, cancellationToken).ConfigureAwait(false);
        return channel?.AudioTracks ?? [];
    }
}

/// <summary>Records a broadcast when control's <see cref="EventRecordingPolicy"/> says so; without an event,
/// <c>Packager:RecordByDefault</c>.</summary>
internal sealed class ChannelRecordingPolicy(EventRecordingPolicy policy, IOptions<PackagerOptions> options) : IRecordingPolicy
{
    public async ValueTask<bool> ShouldRecordAsync(LiveStream stream, CancellationToken cancellationToken)
        => await policy.ShouldRecordAsync(stream.Name, cancellationToken).ConfigureAwait(false) ?? options.Value.RecordByDefault;
}
