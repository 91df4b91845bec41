using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Broadcast.Packager.Cmaf.Encryption;

/// <summary>
/// The two Common Encryption ciphers over one sample, in place, on .NET's AES (the block cipher is never ours; see
/// <see cref="AesBlocks"/>): AES-CTR for 'cenc' (ISO/IEC 23001-7 §9.6.1, §10.1) and AES-CBC with an encryption pattern for
/// 'cbcs' (§9.6.2, §9.7, §10.4). A sample's protected bytes are those its subsamples name; with no subsamples the whole
/// sample is protected.
/// </summary>
public static class SampleCipher
{
    private const int Block = 16;

    /// <summary>Keystream blocks made per AES call: one call's overhead spread over 1 KiB of protected bytes.</summary>
    private const int KeystreamBlocks = AesBlocks.MaxBytes / Block;

    /// <summary>
    /// AES-CTR (§9.6.1): the protected bytes of all subsamples are one stream (clear bytes do not advance the counter), the
    /// first counter block is the IV padded with zeros, and the counter is the whole block incremented as a 128-bit integer.
    /// The packager's IVs have their low 64 bits zero, so a counter confined to them (8-byte IVs) reads the same.
    /// Encrypting and decrypting are the same operation.
    /// </summary>
    public static void TransformCtr(AesBlocks aes, InitializationVector iv, Span<byte> sample, ReadOnlySpan<Subsample> subsamples)
    {
        ArgumentNullException.ThrowIfNull(aes);
        Span<byte> keystream = stackalloc byte[KeystreamBlocks * Block];
        var state = new CtrState(iv.Value);
        if (subsamples.IsEmpty)
        {
            state.Apply(aes, sample, keystream);
            return;
        }
        int at = 0;
        foreach (var subsample in subsamples)
        {
            at += subsample.ClearBytes;
            var range = Protected(sample, at, subsample.ProtectedBytes);
            state.Apply(aes, range, keystream);
            at += range.Length;
        }
        if (at != sample.Length)
            throw new ArgumentException($"The subsamples cover {at} bytes of a {sample.Length}-byte sample.", nameof(subsamples));
    }

    /// <summary>
    /// AES-CBC with a pattern (§9.6.2, §9.7): in each protected range, of every <paramref name="cryptBlocks"/> +
    /// <paramref name="skipBlocks"/> 16-byte blocks the first <paramref name="cryptBlocks"/> are encrypted and the rest left
    /// clear; the encrypted blocks of a range form one CBC chain that starts from <paramref name="iv"/> (for 'cbcs' the
    /// constant IV, at every subsample); a trailing partial block stays clear. A 0:0 pattern encrypts every whole block
    /// (whole-block full-sample encryption, §9.7, as 'cbcs' does for audio).
    /// </summary>
    public static void EncryptCbcPattern(AesBlocks aes, InitializationVector iv, Span<byte> sample, ReadOnlySpan<Subsample> subsamples,
        int cryptBlocks, int skipBlocks)
    {
        CbcPattern(aes, iv, sample, subsamples, cryptBlocks, skipBlocks, decrypt: false);
    }

    /// <summary>
    /// The inverse of <see cref="EncryptCbcPattern"/> (§9.6.2, §9.7): in each protected range the encrypted blocks of the
    /// pattern are one CBC chain from <paramref name="iv"/>, so they are gathered, decrypted in one call and put back; the
    /// skipped blocks and a trailing partial block are clear already.
    /// </summary>
    public static void DecryptCbcPattern(AesBlocks aes, InitializationVector iv, Span<byte> sample, ReadOnlySpan<Subsample> subsamples,
        int cryptBlocks, int skipBlocks)
    {
        CbcPattern(aes, iv, sample, subsamples, cryptBlocks, skipBlocks, decrypt: true);
    }

    /// <summary>The pattern's walk over a sample's protected ranges, shared by the two directions.</summary>
    private static void CbcPattern(AesBlocks aes, InitializationVector iv, Span<byte> sample, ReadOnlySpan<Subsample> subsamples,
        int cryptBlocks, int skipBlocks, bool decrypt)
    {
        ArgumentNullException.ThrowIfNull(aes);
        if (iv.Size != Block) throw new ArgumentException("AES-CBC takes a 16-byte IV (§9.6.2).", nameof(iv));
        if (cryptBlocks is < 0 or > 15 || skipBlocks is < 0 or > 15 || (cryptBlocks == 0) != (skipBlocks == 0))
            throw new ArgumentOutOfRangeException(nameof(cryptBlocks), "A pattern is 1..15 crypt and 1..15 skip blocks, or 0:0 for none.");
        if (subsamples.IsEmpty)
        {
            Range(aes, iv, sample, cryptBlocks, skipBlocks, decrypt);
            return;
        }
        int at = 0;
        foreach (var subsample in subsamples)
        {
            at += subsample.ClearBytes;
            var range = Protected(sample, at, subsample.ProtectedBytes);
            Range(aes, iv, range, cryptBlocks, skipBlocks, decrypt);
            at += range.Length;
        }
        if (at != sample.Length)
            throw new ArgumentException($"The subsamples cover {at} bytes of a {sample.Length}-byte sample.", nameof(subsamples));
    }

    private static void Range(AesBlocks aes, InitializationVector iv, Span<byte> range, int cryptBlocks, int skipBlocks, bool decrypt)
    {
        if (decrypt) DecryptRange(aes, iv, range, cryptBlocks, skipBlocks);
        else EncryptRange(aes, iv, range, cryptBlocks, skipBlocks);
    }

    private static void DecryptRange(AesBlocks aes, InitializationVector iv, Span<byte> range, int cryptBlocks, int skipBlocks)
    {
        int whole = range.Length / Block * Block;
        if (whole == 0) return;
        Span<byte> ivBytes = stackalloc byte[Block];
        BinaryPrimitives.WriteUInt128BigEndian(ivBytes, iv.Value);
        if (cryptBlocks == 0)
        {
            aes.Aes.DecryptCbc(range[..whole], ivBytes, range[..whole], PaddingMode.None);
            return;
        }
        int period = (cryptBlocks + skipBlocks) * Block;
        int encrypted = 0;
        for (int start = 0; start < whole; start += period) encrypted += Math.Min(cryptBlocks * Block, whole - start);
        byte[] chain = System.Buffers.ArrayPool<byte>.Shared.Rent(encrypted);
        try
        {
            int n = 0;
            for (int start = 0; start < whole; start += period)
            {
                int length = Math.Min(cryptBlocks * Block, whole - start);
                range.Slice(start, length).CopyTo(chain.AsSpan(n));
                n += length;
            }
            aes.Aes.DecryptCbc(chain.AsSpan(0, encrypted), ivBytes, chain.AsSpan(0, encrypted), PaddingMode.None);
            n = 0;
            for (int start = 0; start < whole; start += period)
            {
                int length = Math.Min(cryptBlocks * Block, whole - start);
                chain.AsSpan(n, length).CopyTo(range.Slice(start, length));
                n += length;
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(chain.AsSpan(0, encrypted));
            System.Buffers.ArrayPool<byte>.Shared.Return(chain);
        }
    }

    private static Span<byte> Protected(Span<byte> sample, int at, uint length)
    {
        if (at > sample.Length || length > (uint)(sample.Length - at))
            throw new ArgumentException($"A subsample runs past the end of a {sample.Length}-byte sample.", nameof(sample));
        return sample.Slice(at, (int)length);
    }

    private static void EncryptRange(AesBlocks aes, InitializationVector iv, Span<byte> range, int cryptBlocks, int skipBlocks)
    {
        int whole = range.Length / Block * Block;
        Span<byte> chain = stackalloc byte[Block];
        BinaryPrimitives.WriteUInt128BigEndian(chain, iv.Value);
        if (cryptBlocks == 0)
        {
            // One call for the whole run (a sample's worth of blocks): its setup is spread over all of them.
            if (whole > 0) aes.Aes.EncryptCbc(range[..whole], chain, range[..whole], PaddingMode.None);
            return;
        }
        int period = (cryptBlocks + skipBlocks) * Block;
        // §9.7: the pattern runs over the range; a last period with fewer than cryptBlocks whole blocks encrypts those it has.
        // CBC block by block (C = E(P xor C-1)) on the kept ECB transform: 1:9 puts one block in each call either way.
        for (int start = 0; start < whole; start += period)
        {
            int length = Math.Min(cryptBlocks * Block, whole - start);
            for (int b = start; b < start + length; b += Block)
            {
                var block = range.Slice(b, Block);
                Xor(block, chain);
                aes.EncryptBlock(block);
                block.CopyTo(chain); // the chain carries on from the last ciphertext block, over the skipped ones
            }
        }
    }

    private static void Xor(Span<byte> data, ReadOnlySpan<byte> key)
    {
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            ulong value = BinaryPrimitives.ReadUInt64LittleEndian(data[i..]) ^ BinaryPrimitives.ReadUInt64LittleEndian(key[i..]);
            BinaryPrimitives.WriteUInt64LittleEndian(data[i..], value);
        }
        for (; i < data.Length; i++) data[i] ^= key[i];
    }

    /// <summary>Where a CTR stream stands: the next counter block and the unused tail of the last keystream made.</summary>
    private struct CtrState(UInt128 counter)
    {
        private UInt128 _counter = counter;
        private int _used = KeystreamBlocks * Block;
        private int _made = KeystreamBlocks * Block;

        public void Apply(AesBlocks aes, Span<byte> data, Span<byte> keystream)
        {
            int at = 0;
            while (at < data.Length)
            {
                if (_used == _made)
                {
                    int blocks = Math.Min(KeystreamBlocks, (data.Length - at + Block - 1) / Block);
                    var counters = aes.Input;
                    for (int b = 0; b < blocks; b++) BinaryPrimitives.WriteUInt128BigEndian(counters.Slice(b * Block, Block), _counter++);
                    _made = blocks * Block;
                    aes.EncryptInput(_made).CopyTo(keystream);
                    _used = 0;
                }
                int n = Math.Min(_made - _used, data.Length - at);
                Xor(data.Slice(at, n), keystream.Slice(_used, n));
                _used += n;
                at += n;
            }
        }
    }
}
