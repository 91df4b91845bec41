using Broadcast.Network.Outbound;
namespace Broadcast.Control.Restream;

/// <summary>
/// A restream destination of a channel. <see cref="StreamKeyHint"/> is the masked key (last four characters);
/// the key itself leaves <see cref="DestinationService"/> only towards the restreaming pipeline.
/// </summary>
/// <param name="Multitrack">
/// The destination takes Enhanced RTMP v2 multitrack: it gets every track the encoder sent (its video rungs and its alternate
/// audio) beside the default ones. Otherwise only the default video and audio go, as to any plain RTMP server.
/// </param>
public sealed record Destination(
    string Id,
    string ChannelId,
    string Url,
    string StreamKeyHint,
    bool Enabled,
    bool AllowUntrustedCertificate,
    bool Multitrack,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>A destination with its stream key decrypted, for the pipeline that publishes to it.</summary>
public sealed record DestinationWithKey(Destination Destination, string StreamKey);

/// <summary>A stored destination row; the key only as ciphertext.</summary>
public sealed record DestinationRecord(
    string Id,
    string ChannelId,
    string Url,
    byte[] KeyCiphertext,
    string KeyHint,
    bool Enabled,
    bool AllowUntrustedCertificate,
    bool Multitrack,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>What a create or update asks for; null fields are left unchanged on update.</summary>
public sealed record DestinationSpec(string? Url, string? StreamKey, bool? Enabled, bool? AllowUntrustedCertificate, bool? Multitrack);

/// <summary>
/// The restreaming pipeline as the control plane needs it. Owned by control (its consumer); the server implements
/// it over the restream supervisor. Without one, destinations read as idle and changes notify nobody.
/// </summary>
public interface IDestinationLiveStatus
{
    /// <summary>The destination's state, or null when the pipeline has never run it.</summary>
    RestreamState? Get(string destinationId);

    /// <summary>The destinations of <paramref name="channelSlug"/> changed: apply them now if the channel is live.</summary>
    Task DestinationsChangedAsync(string channelSlug, CancellationToken cancellationToken);
}

/// <summary>The stand-in when no pipeline is wired (control role alone, tests).</summary>
public sealed class NoDestinationLiveStatus : IDestinationLiveStatus
{
    public RestreamState? Get(string destinationId) => null;

    public Task DestinationsChangedAsync(string channelSlug, CancellationToken cancellationToken) => Task.CompletedTask;
}
