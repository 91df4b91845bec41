using System.Buffers.Binary;
using System.Security.Cryptography;
using Broadcast.Media;
using Broadcast.Packager.Cmaf;
using Broadcast.Packager.Cmaf.Boxes;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Live;
using Broadcast.Packager.Manifests;

namespace Broadcast.Clips;

/// <summary>
/// A stored segment with its init segment as ffmpeg reads it (clear), and the protection and key it had, if any: Common
/// Encryption's (<paramref name="Protection"/>: its init's, with the KID, constant IV and pssh of the key its samples are
/// under, which a piece cut from it is encrypted with), or the whole-segment key it was encrypted with (<paramref name="Whole"/>).
/// </summary>
internal sealed record ClearedSegment(ReadOnlyMemory<byte> Init, ReadOnlyMemory<byte> Media, TrackProtection? Protection, ContentKey Key,
    WholeSegmentKey? Whole = null);

/// <summary>
/// A protected broadcast's clip ends (docs/protection.md): the stored segment and its init are decrypted for ffmpeg
/// (<see cref="TrackDecryptor"/>, the inverse of the packager's encryptor), and the piece cut from them is encrypted again
/// with the same key, scheme, constant IV ('cbcs') and DRM systems (its own init's sinf and pssh), so the key tags in force
/// for the stored segment name the piece too. The key is the one the segment's samples are under: the stored init's tenc
/// default KID, or with key rotation the KID its fragments' 'seig' sample group names (<see cref="FragmentKeys"/>), which
/// then becomes the piece's own init's default KID, with that key's pssh as the provider gives them. Each KID is asked of
/// the packager's key port, <see cref="IContentKeyProvider"/>, as a continued broadcast asks for its own: the built-in
/// ClearKey store or the CPIX key server. Keys are kept for one clip's cut, never logged; the clear bytes exist only in
/// memory and in the trim's scratch files, which it deletes.
/// <para>
/// A whole-segment encrypted ('aes-128') broadcast's segment is decrypted whole (AES-128-CBC, <see cref="WholeSegmentCipher"/>)
/// under the IV its clip playlist names, its key asked by the KID its key URI names (<c>…/key/{kid}</c>); the piece is
/// encrypted whole again with that key under a fresh random IV, which its own EXT-X-KEY names. Its init stays clear.
/// </para>
/// </summary>
internal sealed class ClipPieceCipher(IContentKeyProvider? keys, string channel)
{
    private readonly Dictionary<KeyId, ContentKeyGrant> _keys = [];

    /// <summary>
    /// <paramref name="init"/> and <paramref name="media"/> as stored, made clear when they are protected: per sample when
    /// the init says so, whole when <paramref name="segment"/>'s playlist names its AES-128 key and IV.
    /// </summary>
    public async Task<ClearedSegment> ClearAsync(ReadOnlyMemory<byte> init, ReadOnlyMemory<byte> media, StoredSegment segment,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(segment);
        if (segment.Key is { } whole)
        {
            if (ProtectedInit.Read(init.Span) is not null)
                throw new InvalidOperationException("a segment both encrypted whole (AES-128) and per sample (its init's sinf)");
            var kid = whole.KeyId ?? throw new InvalidOperationException(
                $"the whole-segment key URI '{whole.Uri}' names no KID (…/key/{{32 hex digits}}), so its key cannot be asked for");
            var wholeKey = (await KeyAsync(EncryptionScheme.Aes128, kid, cancellationToken).ConfigureAwait(false)).Key;
            using var cipher = WholeSegmentCipher.For(wholeKey);
            byte[] clear;
            try
            {
                clear = cipher.Decrypt(media.Span, whole.IvBytes());
            }
            catch (CryptographicException e)
            {
                throw new InvalidOperationException("a stored segment does not decrypt with the broadcast's key under the IV its playlist names", e);
            }
            return new ClearedSegment(init, clear, null, wholeKey, whole);
        }
        if (ProtectedInit.Read(init.Span) is not { } protection) return new ClearedSegment(init, media, null, default);
        // Key rotation (ISO/IEC 23001-7 §6): the keys its fragments name, each asked once.
        var under = FragmentKeys.EntriesOf(media, protection).Where(e => e.IsProtected).ToList();
        if (under.Select(e => e.KeyId).Distinct().Count() > 1)
            throw new InvalidOperationException($"a stored segment is under more than one key ({string.Join(", ", under.Select(e => e.KeyId).Distinct())}), " +
                "and a piece cut from it could be under one only");
        var keying = under.Count > 0 ? under[0] : SampleEncryptionGroupEntry.Of(protection);
        // The playlist's ClearKey tag in force for the segment names the key its piece will be listed under: it must be this one.
        if (segment.SampleKeyId is { } named && named != keying.KeyId)
            throw new InvalidOperationException($"the stored playlist names the key {named} for {segment.Uri}, whose samples are under {keying.KeyId}");
        var grants = new Dictionary<KeyId, ContentKey>();
        foreach (var kid in under.Select(e => e.KeyId).Append(keying.KeyId).Distinct())
            grants[kid] = (await KeyAsync(protection.Scheme, kid, cancellationToken).ConfigureAwait(false)).Key;
        using var decryptor = new TrackDecryptor(kid => grants.TryGetValue(kid, out var key) ? key : null, protection);
        var decrypted = decryptor.Decrypt(media, CmafReader.ReadInit(init.Span));
        // Under the init's default key the piece is protected as the init is (its pssh); under a rotated key, with that
        // key's KID, constant IV ('cbcs') and the DRM systems the provider gives for it.
        var piece = keying.KeyId == protection.KeyId ? protection : protection with
        {
            KeyId = keying.KeyId,
            ConstantIv = keying.HasConstantIv ? keying.ConstantIv : protection.ConstantIv,
            SystemHeaders = _keys[keying.KeyId].Systems.Select(s => s.Pssh).ToArray(),
        };
        return new ClearedSegment(ProtectedInit.Clear(init.Span), decrypted, piece, grants[keying.KeyId]);
    }

    /// <summary>
    /// The piece cut from <paramref name="stored"/>, encrypted as it was; a clear one as it is. A whole-segment encrypted
    /// piece comes with the key and IV its playlist names.
    /// </summary>
    public static (TimedPiece Piece, WholeSegmentKey? Key) Protect(TimedPiece piece, ClearedSegment stored, MediaKind kind)
    {
        ArgumentNullException.ThrowIfNull(piece);
        ArgumentNullException.ThrowIfNull(stored);
        if (stored.Whole is { } whole)
        {
            // CBC wants an IV no one can predict (NIST SP 800-38A, appendix C): a random one, named by the piece's EXT-X-KEY.
            var iv = RandomNumberGenerator.GetBytes(16);
            using var cipher = WholeSegmentCipher.For(stored.Key);
            var encrypted = cipher.Encrypt(piece.Segment, iv);
            return (piece with { Segment = encrypted }, whole with { Iv = BinaryPrimitives.ReadUInt128BigEndian(iv) });
        }
        if (stored.Protection is not { } protection) return (piece, null);
        var track = ProtectedInit.TrackOf(piece.Init);
        // A fresh IV seed per piece ('cenc'): under one key no two samples share an IV (§9.1); 'cbcs' keeps the constant IV.
        using var encryptor = new TrackEncryptor(stored.Key, protection.Scheme, track, BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)),
            protection.ConstantIv);
        var init = ProtectedInit.Protect(piece.Init, encryptor.Protection(protection.SystemHeaders));
        var segment = SegmentEncryption.Encrypt(piece.Segment, CmafReader.ReadInit(piece.Init), kind, encryptor);
        return (piece with { Init = init, Segment = segment }, null);
    }


    private async Task<ContentKeyGrant> KeyAsync(EncryptionScheme scheme, KeyId keyId, CancellationToken cancellationToken)
    {
        if (_keys.TryGetValue(keyId, out var kept)) return kept;
        if (keys is null)
            throw new InvalidOperationException("this node composes no content key provider (the server composes one on every node with the database), so it cannot decrypt " +
                "a protected broadcast's segments");
        var grant = await keys.KeyForAsync(channel, scheme, keyId, cancellationToken).ConfigureAwait(false);
        if (grant.Key.Id != keyId)
            throw new InvalidOperationException($"the key provider no longer has the broadcast's key {keyId}");
        foreach (var system in grant.Systems) ProtectionSystemHeader.Validate(system.Pssh.Span);
        _keys[keyId] = grant;
        return grant;
    }
}
