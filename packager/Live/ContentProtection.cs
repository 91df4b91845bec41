using System.Security.Cryptography;
using Broadcast.Media;
using Broadcast.Packager.Cmaf.Boxes;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Manifests;

namespace Broadcast.Packager.Live;

/// <summary>One DRM system's data for a key: its system ID (ISO/IEC 23001-7 §8.1.2) and its whole pssh box.</summary>
public sealed record ProtectionSystem(UInt128 SystemId, ReadOnlyMemory<byte> Pssh);

/// <summary>What a key provider answers for a broadcast: the content key (KID and key), each DRM system's pssh, where a
/// W3C ClearKey player gets the key (a license URL the DASH manifest names; null when the provider serves no ClearKey), and
/// where an HLS player of whole-segment encryption (METHOD=AES-128) gets the raw key (the EXT-X-KEY URI; null when none).</summary>
public sealed record ContentKeyGrant(ContentKey Key, IReadOnlyList<ProtectionSystem> Systems, string? ClearKeyLicenseUrl = null,
    string? KeyUrl = null)
{
    /// <summary>DRM vendors' HLS key tags the playlists carry beside ClearKey's (a CPIX key server's HLSSignalingData).</summary>
    public IReadOnlyList<HlsKeyTags> HlsKeys { get; init; } = [];
}

/// <summary>
/// Where content keys come from: a DRM vendor's key server (CPIX), or a built-in store. Asked once per broadcast at its
/// start; a provider that cannot answer refuses the broadcast's packaging (its exception is the reason).
/// </summary>
public interface IContentKeyProvider
{
    /// <summary>
    /// A new broadcast's key for <paramref name="scheme"/>; for a broadcast another node left unfinished
    /// (<paramref name="continuing"/>, its KID), that same key when the provider still has it, so its players need no new
    /// license; else a new one.
    /// </summary>
    ValueTask<ContentKeyGrant> KeyForAsync(string channel, EncryptionScheme scheme, KeyId? continuing, CancellationToken cancellationToken);
}

/// <summary>
/// How one broadcast is encrypted: the scheme, its key, the DRM systems' pssh boxes, and for 'cbcs' the constant IV. The
/// record's printed form shows the KID, never the key (<see cref="ContentKey.ToString"/>).
/// </summary>
public sealed record BroadcastProtection(EncryptionScheme Scheme, ContentKey Key, IReadOnlyList<ProtectionSystem> Systems,
    InitializationVector ConstantIv)
{
    /// <summary>The W3C ClearKey license URL the DASH manifest names (dashif:Laurl), or null.</summary>
    public string? ClearKeyLicenseUrl { get; init; }

    /// <summary>The key URL an <see cref="EncryptionScheme.Aes128"/> broadcast's EXT-X-KEY names (it names the KID, never the key).</summary>
    public string? KeyUrl { get; init; }

    /// <summary>DRM vendors' HLS key tags, written in every playlist beside ClearKey's.</summary>
    public IReadOnlyList<HlsKeyTags> HlsKeys { get; init; } = [];

    /// <summary>A new key every so many segments (the channel's setting), or null: one key for the whole broadcast.</summary>
    public KeyRotation? Rotation { get; init; }

    /// <summary>A continued broadcast's later key periods, as the node that died began them, oldest first (see
    /// <see cref="ContinuedAsync"/>); empty for a new broadcast.</summary>
    public IReadOnlyList<ContinuedKeyPeriod> ContinuedPeriods { get; init; } = [];

    /// <summary>HLS whole-segment encryption: the CMAF is written clear and each stored object encrypted whole.</summary>
    public bool WholeSegment => Scheme == EncryptionScheme.Aes128;

    /// <summary>The cipher of an <see cref="EncryptionScheme.Aes128"/> broadcast's objects (one per writer: it is not shared).</summary>
    public WholeSegmentCipher WholeSegmentCipher()
    {
        if (!WholeSegment) throw new InvalidOperationException($"A {Scheme} broadcast is encrypted per sample, not whole.");
        return Cmaf.Encryption.WholeSegmentCipher.For(Key);
    }

    /// <summary>A new encryptor for one rendition's track (its own IV seed, so renditions under one key never share an IV).
    /// <paramref name="defaultKeyId"/>: the init segment's KID when this is a later key of a rotated broadcast.</summary>
    public TrackEncryptor EncryptorFor(MediaTrack track, KeyId? defaultKeyId = null) =>
        new(Key, Scheme, track, BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)), Scheme == EncryptionScheme.Cbcs ? ConstantIv : null,
            defaultKeyId);

    public IReadOnlyList<ReadOnlyMemory<byte>> SystemHeaders => Systems.Select(s => s.Pssh).ToArray();

    /// <summary>A broadcast's protection from a key provider's grant, whose pssh boxes are checked first.</summary>
    public static BroadcastProtection From(EncryptionScheme scheme, ContentKeyGrant grant)
    {
        ArgumentNullException.ThrowIfNull(grant);
        foreach (var system in grant.Systems) ProtectionSystemHeader.Validate(system.Pssh.Span);
        // RFC 8216bis §4.4.4.4: METHOD=AES-128 needs a URI; a provider that names none cannot serve the key to players.
        if (scheme == EncryptionScheme.Aes128 && string.IsNullOrEmpty(grant.KeyUrl))
            throw new InvalidOperationException("The key provider names no key URL, which an AES-128 HLS broadcast's EXT-X-KEY needs.");
        if (grant.HlsKeys.Count > 0 && scheme == EncryptionScheme.Aes128)
            throw new InvalidOperationException("An AES-128 HLS broadcast's key tag is this server's own: vendor key tags are for cenc and cbcs.");
        foreach (var tags in grant.HlsKeys)
        {
            HlsContentProtection.CheckVendorTag(tags.Media, "#EXT-X-KEY:", EncryptionSchemes.Name(scheme));
            HlsContentProtection.CheckVendorTag(tags.Master, "#EXT-X-SESSION-KEY:", EncryptionSchemes.Name(scheme));
        }
        // 'cbcs' (§10.4): one constant IV for the track, a fresh random one per broadcast.
        return new BroadcastProtection(scheme, grant.Key, grant.Systems, InitializationVector.FromBytes(RandomNumberGenerator.GetBytes(16)))
        {
            ClearKeyLicenseUrl = grant.ClearKeyLicenseUrl,
            KeyUrl = grant.KeyUrl,
            HlsKeys = grant.HlsKeys,
        };
    }

    /// <summary>
    /// <paramref name="first"/>, the continued broadcast's first key, with the later key periods its live state names
    /// (<see cref="ProtectionState.Periods"/>), each key read back by its KID through <paramref name="keyFor"/>. The new node
    /// names them in its playlists before the segments it restores, and goes on under the last, the key its players hold
    /// now. A key read back under another KID refuses the continuation: its segments would be named under a key that
    /// does not open them.
    /// </summary>
    public static async ValueTask<BroadcastProtection> ContinuedAsync(BroadcastProtection first, ProtectionState continuing,
        Func<KeyId, CancellationToken, ValueTask<ContentKeyGrant>> keyFor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(continuing);
        ArgumentNullException.ThrowIfNull(keyFor);
        if (continuing.Periods is not { Count: > 0 } periods) return first;
        var restored = new List<ContinuedKeyPeriod>(periods.Count);
        foreach (var period in periods)
        {
            var kid = period.ToKeyId();
            var grant = await keyFor(kid, cancellationToken).ConfigureAwait(false);
            if (grant.Key.Id != kid)
                throw new InvalidOperationException(
                    $"The key provider answered key {grant.Key.Id.ToUuidString()} for the continued broadcast's key period from segment {period.FirstSegment}, which is under key {kid.ToUuidString()}.");
            // The constant IV is the broadcast's on this node ('cbcs', §10.4), whatever the key.
            restored.Add(new ContinuedKeyPeriod(period.FirstSegment, From(first.Scheme, grant) with { ConstantIv = first.ConstantIv }));
        }
        return first with { ContinuedPeriods = restored };
    }
}

/// <summary>A later key period of a continued broadcast: from segment <paramref name="FirstSegment"/> on, under <paramref name="Protection"/>'s key.</summary>
public sealed record ContinuedKeyPeriod(long FirstSegment, BroadcastProtection Protection);

/// <summary>
/// Decides, per broadcast, whether and how it is encrypted (the packager asks once, at the broadcast's start, as it asks the
/// rewind and low-latency policies). The packager's default, <see cref="NoContentProtection"/>, encrypts nothing; the server
/// registers one that follows each channel's <c>protection</c> setting with the built-in ClearKey provider (docs/protection.md).
/// </summary>
public interface IContentProtectionPolicy
{
    /// <summary>
    /// The broadcast's encryption, or null for clear. <paramref name="continuing"/>: the encryption of the broadcast this
    /// one continues (another node died while it was live), which a policy keeps, since its players hold that key.
    /// </summary>
    ValueTask<BroadcastProtection?> ProtectionAsync(LiveStream stream, ProtectionState? continuing, CancellationToken cancellationToken);
}

/// <summary>Every broadcast in the clear: media bytes and manifests exactly those of a packager without encryption.</summary>
public sealed class NoContentProtection : IContentProtectionPolicy
{
    public ValueTask<BroadcastProtection?> ProtectionAsync(LiveStream stream, ProtectionState? continuing, CancellationToken cancellationToken) =>
        ValueTask.FromResult<BroadcastProtection?>(null);
}
