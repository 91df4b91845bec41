using System.Security.Cryptography;
using Broadcast.Media;
using Broadcast.Packager.Cmaf.Boxes;
using Broadcast.Packager.Cmaf.Encryption;
using Microsoft.Extensions.Options;

namespace Broadcast.Packager.Live;

/// <summary>One DRM system's data for a key: its system ID (ISO/IEC 23001-7 §8.1.2) and its whole pssh box.</summary>
public sealed record ProtectionSystem(UInt128 SystemId, ReadOnlyMemory<byte> Pssh);

/// <summary>What a key provider answers for a broadcast: the content key (KID and key) and each DRM system's pssh.</summary>
public sealed record ContentKeyGrant(ContentKey Key, IReadOnlyList<ProtectionSystem> Systems);

/// <summary>
/// Where content keys come from: a DRM vendor's key server (CPIX), or a built-in store. Asked once per broadcast at its
/// start; a provider that cannot answer refuses the broadcast's packaging (its exception is the reason).
/// </summary>
public interface IContentKeyProvider
{
    ValueTask<ContentKeyGrant> KeyForAsync(string channel, CancellationToken cancellationToken);
}

/// <summary>
/// How one broadcast is encrypted: the scheme, its key, the DRM systems' pssh boxes, and for 'cbcs' the constant IV. The
/// record's printed form shows the KID, never the key (<see cref="ContentKey.ToString"/>).
/// </summary>
public sealed record BroadcastProtection(EncryptionScheme Scheme, ContentKey Key, IReadOnlyList<ProtectionSystem> Systems,
    InitializationVector ConstantIv)
{
    /// <summary>A new encryptor for one rendition's track (its own IV seed, so renditions under one key never share an IV).</summary>
    public TrackEncryptor EncryptorFor(MediaTrack track) =>
        new(Key, Scheme, track, BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)), Scheme == EncryptionScheme.Cbcs ? ConstantIv : null);

    public IReadOnlyList<ReadOnlyMemory<byte>> SystemHeaders => Systems.Select(s => s.Pssh).ToArray();
}

/// <summary>
/// Decides, per broadcast, whether and how it is encrypted. The control plane may answer per channel; the default
/// encrypts every broadcast with <c>Packager:Encryption</c>'s scheme when that is not <c>None</c>.
/// </summary>
public interface IContentProtectionPolicy
{
    ValueTask<BroadcastProtection?> ProtectionAsync(LiveStream stream, CancellationToken cancellationToken);
}

/// <summary>The default: <c>Packager:Encryption</c>, with keys from the registered <see cref="IContentKeyProvider"/>.</summary>
public sealed class DefaultContentProtectionPolicy(IOptions<PackagerOptions> options, IContentKeyProvider keys) : IContentProtectionPolicy
{
    public async ValueTask<BroadcastProtection?> ProtectionAsync(LiveStream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var scheme = options.Value.Encryption;
        if (scheme == ContentEncryption.None) return null;
        var grant = await keys.KeyForAsync(stream.Name, cancellationToken).ConfigureAwait(false);
        return Protect(scheme == ContentEncryption.Cbcs ? EncryptionScheme.Cbcs : EncryptionScheme.Cenc, grant);
    }

    /// <summary>A broadcast's protection from a key provider's grant, whose pssh boxes are checked first.</summary>
    public static BroadcastProtection Protect(EncryptionScheme scheme, ContentKeyGrant grant)
    {
        ArgumentNullException.ThrowIfNull(grant);
        foreach (var system in grant.Systems) ProtectionSystemHeader.Validate(system.Pssh.Span);
        // 'cbcs' (§10.4): one constant IV for the track, a fresh random one per broadcast.
        return new BroadcastProtection(scheme, grant.Key, grant.Systems, InitializationVector.FromBytes(RandomNumberGenerator.GetBytes(16)));
    }
}

/// <summary>Which Common Encryption scheme <c>Packager:Encryption</c> turns on for every broadcast.</summary>
public enum ContentEncryption
{
    None,
    Cenc,
    Cbcs,
}

/// <summary>
/// A key provider that makes a random key and KID for each broadcast and keeps them in memory only (at most
/// <see cref="MaxKeys"/>, the oldest forgotten first), with a W3C ClearKey pssh: for tests and a single node. A node that
/// continues another's broadcast does not know its keys, and a restart forgets them; a real deployment plugs a key server in.
/// </summary>
public sealed class InMemoryContentKeyProvider : IContentKeyProvider
{
    public const int MaxKeys = 10_000;

    private readonly Lock _lock = new();
    private readonly Dictionary<KeyId, ContentKey> _keys = [];
    private readonly Queue<KeyId> _order = new();

    public ValueTask<ContentKeyGrant> KeyForAsync(string channel, CancellationToken cancellationToken)
    {
        var key = new ContentKey(KeyId.FromBytes(RandomNumberGenerator.GetBytes(16)), RandomNumberGenerator.GetBytes(16));
        lock (_lock)
        {
            if (_order.Count == MaxKeys) _keys.Remove(_order.Dequeue());
            _keys[key.Id] = key;
            _order.Enqueue(key.Id);
        }
        var pssh = ProtectionSystemHeader.Create(ProtectionSystemHeader.ClearKeySystemId, [key.Id], []);
        return ValueTask.FromResult(new ContentKeyGrant(key, [new ProtectionSystem(ProtectionSystemHeader.ClearKeySystemId, pssh)]));
    }

    /// <summary>The key of <paramref name="id"/>, for a license endpoint that has checked the viewer.</summary>
    public bool TryGetKey(KeyId id, out ContentKey key)
    {
        lock (_lock) return _keys.TryGetValue(id, out key);
    }
}
