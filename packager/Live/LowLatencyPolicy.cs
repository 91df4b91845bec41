using Broadcast.Media;
using Microsoft.Extensions.Options;

namespace Broadcast.Packager.Live;

/// <summary>
/// Decides, per broadcast, whether it is packaged for low latency (parts, LL-HLS and LL-DASH manifests). Owned by the
/// packager; the control plane replaces it with the channel's <c>lowLatency</c> setting.
/// </summary>
public interface ILowLatencyPolicy
{
    ValueTask<bool> IsLowLatencyAsync(LiveStream stream, CancellationToken cancellationToken);
}

/// <summary>The default: <c>Packager:LowLatencyByDefault</c>.</summary>
public sealed class DefaultLowLatencyPolicy(IOptions<PackagerOptions> options) : ILowLatencyPolicy
{
    public ValueTask<bool> IsLowLatencyAsync(LiveStream stream, CancellationToken cancellationToken) =>
        ValueTask.FromResult(options.Value.LowLatencyByDefault);
}
