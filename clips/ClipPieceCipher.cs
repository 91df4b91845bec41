using System.Security.Cryptography;
using Broadcast.Media;
using Broadcast.Packager.Cmaf;
using Broadcast.Packager.Cmaf.Boxes;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Live;

namespace Broadcast.Clips;

/// <summary>A stored segment with its init segment as ffmpeg reads it (clear), and the protection and key it had, if any.</summary>
internal sealed record ClearedSegment(ReadOnlyMemory<byte> Init, ReadOnlyMemory<byte> Media, TrackProtection? Protection, ContentKey Key);

/// <summary>
/// A protected broadcast's clip ends (docs/protection.md): the stored segment and its init are decrypted for ffmpeg
/// (<see cref="TrackDecryptor"/>, the inverse of the packager's encryptor), and the piece cut from them is encrypted again
/// with the same key, scheme, constant IV ('cbcs') and DRM systems (its own init's sinf and pssh), so the clip's one key
/// tag names every segment it lists. The key is the broadcast's, asked by its KID (the stored init's tenc) of the
/// packager's key port, <see cref="IContentKeyProvider"/>, as a continued broadcast asks for its own: the built-in
/// ClearKey store or the CPIX key server. It is kept for one clip's cut, never logged; the clear bytes exist only in
/// memory and in the trim's scratch files, which it deletes.
/// </summary>
internal sealed class ClipPieceCipher(IContentKeyProvider? keys, string channel)
{
    private readonly Dictionary<KeyId, ContentKey> _keys = [];

    /// <summary><paramref name="init"/> and <paramref name="media"/> as stored, made clear when they are protected.</summary>
    public async Task<ClearedSegment> ClearAsync(ReadOnlyMemory<byte> init, ReadOnlyMemory<byte> media, CancellationToken cancellationToken)
    {
        if (ProtectedInit.Read(init.Span) is not { } protection) return new ClearedSegment(init, media, null, default);
        var key = await KeyAsync(protection, cancellationToken).ConfigureAwait(false);
        using var decryptor = new TrackDecryptor(key, protection);
        return new ClearedSegment(ProtectedInit.Clear(init.Span), decryptor.Decrypt(media, CmafReader.ReadInit(init.Span)), protection, key);
    }

    /// <summary>The piece cut from <paramref name="stored"/>, encrypted as it was; a clear one as it is.</summary>
    public static TimedPiece Protect(TimedPiece piece, ClearedSegment stored, MediaKind kind)
    {
        ArgumentNullException.ThrowIfNull(piece);
        ArgumentNullException.ThrowIfNull(stored);
        if (stored.Protection is not { } protection) return piece;
        var track = ProtectedInit.TrackOf(piece.Init);
        // A fresh IV seed per piece ('cenc'): under one key no two samples share an IV (§9.1); 'cbcs' keeps the constant IV.
        using var encryptor = new TrackEncryptor(stored.Key, protection.Scheme, track, BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)),
            protection.ConstantIv);
        var init = ProtectedInit.Protect(piece.Init, encryptor.Protection(protection.SystemHeaders));
        var segment = SegmentEncryption.Encrypt(piece.Segment, CmafReader.ReadInit(piece.Init), kind, encryptor);
        return piece with { Init = init, Segment = segment };
    }

    private async Task<ContentKey> KeyAsync(TrackProtection protection, CancellationToken cancellationToken)
    {
        if (_keys.TryGetValue(protection.KeyId, out var kept)) return kept;
        if (keys is null)
            throw new InvalidOperationException("this node has no content key provider (it packages no broadcast), so it cannot decrypt " +
                "a protected broadcast's segments");
        var grant = await keys.KeyForAsync(channel, protection.Scheme, protection.KeyId, cancellationToken).ConfigureAwait(false);
        if (grant.Key.Id != protection.KeyId)
            throw new InvalidOperationException($"the key provider no longer has the broadcast's key {protection.KeyId}");
        _keys[protection.KeyId] = grant.Key;
        return grant.Key;
    }
}
