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
/// Encryption's (<paramref name="Protection"/>), or the whole-segment key it was encrypted with (<paramref name="Whole"/>).
/// </summary>
internal sealed record ClearedSegment(ReadOnlyMemory<byte> Init, ReadOnlyMemory<byte> Media, TrackProtection? Protection, ContentKey Key,
    WholeSegmentKey? Whole = null);

/// <summary>
/// A protected broadcast's clip ends (docs/protection.md): the stored segment and its init are decrypted for ffmpeg
/// (<see cref="TrackDecryptor"/>, the inverse of the packager's encryptor), and the piece cut from them is encrypted again
/// with the same key, scheme, constant IV ('cbcs') and DRM systems (its own init's sinf and pssh), so the clip's one key
/// tag names every segment it lists. The key is the broadcast's, asked by its KID (the stored init's tenc) of the
/// packager's key port, <see cref="IContentKeyProvider"/>, as a continued broadcast asks for its own: the built-in
/// ClearKey store or the CPIX key server. It is kept for one clip's cut, never logged; the clear bytes exist only in
/// memory and in the trim's scratch files, which it deletes.
/// <para>
/// A whole-segment encrypted ('aes-128') broadcast's segment is decrypted whole (AES-128-CBC, <see cref="WholeSegmentCipher"/>)
/// under the IV its clip playlist names, its key asked by the KID its key URI names (<c>…/key/{kid}</c>); the piece is
/// encrypted whole again with that key under a fresh random IV, which its own EXT-X-KEY names. Its init stays clear.
/// </para>
/// </summary>
internal sealed class ClipPieceCipher(IContentKeyProvider? keys, string channel)
{
    private readonly Dictionary<KeyId, ContentKey> _keys = [];

    /// <summary>
    /// <paramref name="init"/> and <paramref name="media"/> as stored, made clear when they are protected: per sample when
    /// the init says so, whole when <paramref name="whole"/> (the segment's AES-128 key and IV in its playlist) is given.
    /// </summary>
    public async Task<ClearedSegment> ClearAsync(ReadOnlyMemory<byte> init, ReadOnlyMemory<byte> media, WholeSegmentKey? whole,
        CancellationToken cancellationToken)
    {
        if (whole is not null)
        {
            if (ProtectedInit.Read(init.Span) is not null)
                throw new InvalidOperationException("a segment both encrypted whole (AES-128) and per sample (its init's sinf)");
            var kid = whole.KeyId ?? throw new InvalidOperationException(
                $"the whole-segment key URI '{whole.Uri}' names no KID (…/key/{{32 hex digits}}), so its key cannot be asked for");
            var wholeKey = await KeyAsync(EncryptionScheme.Aes128, kid, cancellationToken).ConfigureAwait(false);
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
        var key = await KeyAsync(protection.Scheme, protection.KeyId, cancellationToken).ConfigureAwait(false);
        using var decryptor = new TrackDecryptor(key, protection);
        return new ClearedSegment(ProtectedInit.Clear(init.Span), decryptor.Decrypt(media, CmafReader.ReadInit(init.Span)), protection, key);
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


    private async Task<ContentKey> KeyAsync(EncryptionScheme scheme, KeyId keyId, CancellationToken cancellationToken)
    {
        if (_keys.TryGetValue(keyId, out var kept)) return kept;
        if (keys is null)
            throw new InvalidOperationException("this node composes no content key provider (the server composes one on every node with the database), so it cannot decrypt " +
                "a protected broadcast's segments");
        var grant = await keys.KeyForAsync(channel, scheme, keyId, cancellationToken).ConfigureAwait(false);
        if (grant.Key.Id != keyId)
            throw new InvalidOperationException($"the key provider no longer has the broadcast's key {keyId}");
        _keys[keyId] = grant.Key;
        return grant.Key;
    }
}
