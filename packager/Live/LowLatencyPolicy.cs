using Broadcast.Media;
using Microsoft.Extensions.Options;

namespace Broadcast.Packager.Live;

/// <summary>The default: <c>Packager:LowLatencyByDefault</c>.</summary>
public sealed class DefaultLowLatencyPolicy(IOptions<PackagerOptions> options) : ILowLatencyPolicy
{
    public ValueTask<bool> IsLowLatencyAsync(LiveStream stream, CancellationToken cancellationToken) =>
        ValueTask.FromResult(options.Value.LowLatencyByDefault);
}
