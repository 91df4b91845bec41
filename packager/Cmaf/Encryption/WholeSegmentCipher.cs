using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Broadcast.Packager.Cmaf.Encryption;

/// <summary>
/// HLS whole-segment encryption (RFC 8216bis §4.4.4.4 METHOD=AES-128): an object's bytes encrypted whole with AES-128-CBC
/// and PKCS7 padding, under the IV a player derives when EXT-X-KEY names none (§5.2): the Media Sequence Number of the
/// segment as a 128-bit big-endian integer. An LL-HLS part is an object of its own and is encrypted alone, with its parent
/// segment's number (a player decrypts each part it loads with the IV of the segment it belongs to). One instance per
/// broadcast, used by one caller at a time; .NET's AES does the cipher, set up once with the key.
/// </summary>
public sealed class WholeSegmentCipher : IDisposable
{
    private const int Block = 16;
    private readonly Aes _aes;

    public WholeSegmentCipher(ReadOnlySpan<byte> key)
    {
        if (key.Length != Block) throw new ArgumentException("An AES-128 key is 16 bytes.", nameof(key));
        _aes = Aes.Create();
        var copy = key.ToArray();
        _aes.Key = copy; // the setter keeps its own copy
        CryptographicOperations.ZeroMemory(copy);
    }

    /// <summary>A cipher under <paramref name="key"/>'s bytes, copied out for the AES transform and wiped at once.</summary>
    public static WholeSegmentCipher For(ContentKey key)
    {
        Span<byte> bytes = stackalloc byte[Block];
        key.CopyKeyTo(bytes);
        try
        {
            return new WholeSegmentCipher(bytes);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }

    /// <summary>The size of <paramref name="clearLength"/> bytes encrypted: PKCS7 always adds 1 to 16 bytes (RFC 5652 §6.3).</summary>
    public static int EncryptedLength(int clearLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(clearLength);
        return checked((clearLength / Block + 1) * Block);
    }

    /// <summary>The IV of segment <paramref name="mediaSequence"/> (§5.2): its number as a 128-bit big-endian integer.</summary>
    public static void WriteIv(long mediaSequence, Span<byte> iv)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(mediaSequence);
        if (iv.Length != Block) throw new ArgumentException("An IV is 16 bytes.", nameof(iv));
        iv[..8].Clear();
        BinaryPrimitives.WriteInt64BigEndian(iv[8..], mediaSequence);
    }

    /// <summary>Encrypts <paramref name="clear"/> (a whole segment or part of segment <paramref name="mediaSequence"/>) into
    /// <paramref name="destination"/>; returns the bytes written (<see cref="EncryptedLength"/>).</summary>
    public int Encrypt(ReadOnlySpan<byte> clear, long mediaSequence, Span<byte> destination)
    {
        Span<byte> iv = stackalloc byte[Block];
        WriteIv(mediaSequence, iv);
        if (destination.Length < EncryptedLength(clear.Length))
            throw new ArgumentException("The destination is shorter than the encrypted object.", nameof(destination));
        return _aes.EncryptCbc(clear, iv, destination, PaddingMode.PKCS7);
    }

    /// <summary>Encrypts <paramref name="clear"/> onto the end of <paramref name="output"/> (a reused buffer: no allocation per object).</summary>
    public int Encrypt(ReadOnlySpan<byte> clear, long mediaSequence, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        int written = Encrypt(clear, mediaSequence, output.GetSpan(EncryptedLength(clear.Length)));
        output.Advance(written);
        return written;
    }

    /// <summary>Encrypts <paramref name="clear"/> whole under an explicit <paramref name="iv"/> (one an EXT-X-KEY names with IV=).</summary>
    public byte[] Encrypt(ReadOnlySpan<byte> clear, ReadOnlySpan<byte> iv)
    {
        if (iv.Length != Block) throw new ArgumentException("An IV is 16 bytes.", nameof(iv));
        return _aes.EncryptCbc(clear, iv, PaddingMode.PKCS7);
    }

    /// <summary>
    /// Decrypts an object encrypted whole under <paramref name="iv"/> (its segment's number, <see cref="WriteIv"/>, or the
    /// IV its EXT-X-KEY names); a length that is no whole number of blocks or a padding that is not PKCS7 (another key or
    /// IV) is a <see cref="CryptographicException"/>.
    /// </summary>
    public byte[] Decrypt(ReadOnlySpan<byte> encrypted, ReadOnlySpan<byte> iv)
    {
        if (iv.Length != Block) throw new ArgumentException("An IV is 16 bytes.", nameof(iv));
        if (encrypted.Length == 0 || encrypted.Length % Block != 0)
            throw new CryptographicException($"{encrypted.Length} bytes are not an object encrypted whole (a multiple of {Block}).");
        return _aes.DecryptCbc(encrypted, iv, PaddingMode.PKCS7);
    }

    public void Dispose() => _aes.Dispose();
}
