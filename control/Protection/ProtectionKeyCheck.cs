using Broadcast.Control.Channels;

namespace Broadcast.Control.Protection;

/// <summary>
/// The dashboard's "Test key": asks the node's content key provider for a key for a channel, as a broadcast's start would,
/// and says what came back. Control knows no key provider (they are protection/'s); the server composes one, and its check,
/// on every node with the database (ingest and control nodes alike), and a host without one keeps <see cref="NoProtectionKeyCheck"/>.
/// </summary>
public interface IProtectionKeyCheck
{
    /// <summary>Where this node's keys come from, in words an operator reads: never a credential nor a URL's path or query.</summary>
    string KeySource { get; }

    /// <summary>Asks for a key for <paramref name="channelSlug"/> with <paramref name="protection"/>'s scheme. A key made only
    /// for the test is not kept; a live broadcast's key is never changed.</summary>
    Task<ProtectionKeyCheckResult> CheckAsync(string channelSlug, ChannelProtection protection, CancellationToken cancellationToken);
}

/// <summary>
/// What a key test found: on success the KID (as a UUID), each DRM system the provider answered for (name and system ID),
/// how many of them carry a pssh box, the HLS key formats of its key tags, and the license and key URLs it names; else the
/// provider's refusal, the sentence a broadcast's packaging would fail with. Never the key itself.
/// </summary>
public sealed record ProtectionKeyCheckResult(bool Succeeded, string? Refusal, string? KeyId = null)
{
    public IReadOnlyList<string> Systems { get; init; } = [];

    public int PsshCount { get; init; }

    public IReadOnlyList<string> HlsKeyFormats { get; init; } = [];

    public string? LicenseUrl { get; init; }

    public string? KeyUrl { get; init; }

    public static ProtectionKeyCheckResult Refused(string reason) => new(false, reason);
}

/// <summary>A host that composes control without a key provider (control's own tests): it says so and asks nothing.</summary>
public sealed class NoProtectionKeyCheck : IProtectionKeyCheck
{
    public string KeySource => "no key provider on this node (this host composes none)";

    public Task<ProtectionKeyCheckResult> CheckAsync(string channelSlug, ChannelProtection protection, CancellationToken cancellationToken) =>
        Task.FromResult(ProtectionKeyCheckResult.Refused(
            "this node composes no key provider to ask: test the key from the dashboard of a node that packages broadcasts"));
}
