using System.Buffers.Binary;
using System.Security.Cryptography;
using Broadcast.Packager.Cmaf.Encryption;

namespace Broadcast.Packager.Tests.Cmaf.Encryption;

/// <summary>
/// Decryption written apart from the packager's cipher, the other way round: the protected bytes are gathered into one
/// buffer, deciphered by .NET's AES in one call (CTR from ECB counter blocks; CBC over the pattern's encrypted blocks of a
/// subsample as one chain) and scattered back.
/// </summary>
internal static class CencTestDecryptor
{
    public static byte[] Key(string hex) => Convert.FromHexString(hex);

    public static byte[] Decrypt(ReadOnlySpan<byte> sample, byte[] key, EncryptionScheme scheme, byte[] iv, IReadOnlyList<Subsample> subsamples,
        int crypt, int skip)
    {
        var output = sample.ToArray();
        using var aes = Aes.Create();
        aes.Key = key;
        var ranges = subsamples.Count == 0 ? [(0, output.Length)] : Ranges(subsamples);
        if (scheme == EncryptionScheme.Cenc)
        {
            var stream = ranges.SelectMany(r => output.Skip(r.Start).Take(r.Length)).ToArray();
            var counters = new byte[(stream.Length + 15) / 16 * 16];
            var full = new byte[16];
            iv.CopyTo(full, 0);
            var counter = BinaryPrimitives.ReadUInt128BigEndian(full);
            for (int b = 0; b < counters.Length / 16; b++) BinaryPrimitives.WriteUInt128BigEndian(counters.AsSpan(b * 16), counter + (UInt128)b);
            var keystream = aes.EncryptEcb(counters, PaddingMode.None);
            for (int i = 0; i < stream.Length; i++) stream[i] ^= keystream[i];
            Scatter(output, ranges.Select(r => (r.Start, r.Length)).ToList(), stream);
            return output;
        }
        foreach (var (start, length) in ranges)
        {
            var blocks = new List<(int Start, int Length)>();
            int whole = length / 16;
            for (int b = 0; b < whole; b++)
                if (crypt == 0 || b % (crypt + skip) < crypt) blocks.Add((start + b * 16, 16));
            var gathered = blocks.SelectMany(r => output.Skip(r.Start).Take(16)).ToArray();
            if (gathered.Length == 0) continue;
            Scatter(output, blocks, aes.DecryptCbc(gathered, iv, PaddingMode.None));
        }
        return output;
    }

    private static List<(int Start, int Length)> Ranges(IReadOnlyList<Subsample> subsamples)
    {
        var ranges = new List<(int, int)>();
        int at = 0;
        foreach (var s in subsamples)
        {
            at += s.ClearBytes;
            ranges.Add((at, (int)s.ProtectedBytes));
            at += (int)s.ProtectedBytes;
        }
        return ranges;
    }

    private static void Scatter(byte[] output, List<(int Start, int Length)> ranges, byte[] stream)
    {
        int at = 0;
        foreach (var (start, length) in ranges)
        {
            stream.AsSpan(at, length).CopyTo(output.AsSpan(start));
            at += length;
        }
    }
}
