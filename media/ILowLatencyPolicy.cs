namespace Broadcast.Media;

/// <summary>
/// Decides, per broadcast, whether it is a low-latency one: the packager then cuts parts (LL-HLS, LL-DASH) and the
/// transcoder encodes its ladder without look-ahead or B-frames. One port both ask; the control plane implements it with
/// the channel's <c>lowLatency</c> setting, the packager's default with <c>Packager:LowLatencyByDefault</c>.
/// </summary>
public interface ILowLatencyPolicy
{
    ValueTask<bool> IsLowLatencyAsync(LiveStream stream, CancellationToken cancellationToken);
}
