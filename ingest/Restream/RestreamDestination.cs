using Broadcast.Media;

namespace Broadcast.Ingest.Restream;

/// <summary>
/// One place a channel is pushed to while it is live. <see cref="StreamKey"/> is a secret: it travels to the
/// destination in the publish command and nowhere else (never in logs or states).
/// </summary>
/// <param name="Id">Stable id (the control plane's destination id).</param>
/// <param name="Url">Server URL, <c>rtmp://host[:port]/app</c> or <c>rtmps://…</c>, without the key.</param>
/// <param name="AllowUntrustedCertificate">rtmps:// only: accept a self-signed certificate (test servers).</param>
/// <param name="Multitrack">
/// The destination takes Enhanced RTMP v2 multitrack: it gets every track the encoder sent (its video rungs and its
/// alternate audio) beside the default ones. Otherwise only the default video and audio go, as to any plain RTMP server.
/// </param>
public sealed record RestreamDestination(string Id, string Url, string StreamKey, bool Enabled = true, bool AllowUntrustedCertificate = false,
    bool Multitrack = false);

/// <summary>
/// Where the restream supervisor learns a live stream's destinations. Owned here (its consumer); the composition
/// root implements it over the control plane's destinations table.
/// </summary>
public interface IRestreamDestinationSource
{
    /// <summary>The destinations of the channel publishing <paramref name="stream"/> (its <see cref="LiveStream.Tag"/> is the channel id).</summary>
    Task<IReadOnlyList<RestreamDestination>> GetDestinationsAsync(LiveStream stream, CancellationToken cancellationToken);
}

/// <summary>The stand-in when nothing provides destinations: no restreaming.</summary>
public sealed class NoRestreamDestinations : IRestreamDestinationSource
{
    public Task<IReadOnlyList<RestreamDestination>> GetDestinationsAsync(LiveStream stream, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<RestreamDestination>>([]);
}
