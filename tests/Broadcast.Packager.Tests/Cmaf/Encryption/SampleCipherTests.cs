using System.Security.Cryptography;
using Broadcast.Packager.Cmaf.Encryption;

namespace Broadcast.Packager.Tests.Cmaf.Encryption;

/// <summary>
/// The two Common Encryption ciphers against NIST SP 800-38A's AES-128 vectors (F.5.1 CTR, F.2.1 CBC) and, for
/// subsamples and the 1:9 pattern, against the tests' own decryption (<see cref="CencTestDecryptor"/>).
/// </summary>
public class SampleCipherTests
{
    private const string NistKey = "2b7e151628aed2a6abf7158809cf4f3c";
    private const string NistPlain = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";

    private static AesBlocks NistAes() => new(Convert.FromHexString(NistKey));

    [Fact]
    public void Ctr_matches_the_NIST_vector()
    {
        using var aes = NistAes();
        var data = Convert.FromHexString(NistPlain);
        SampleCipher.TransformCtr(aes, InitializationVector.FromBytes(Convert.FromHexString("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")), data, []);
        Assert.Equal("874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee",
            Convert.ToHexStringLower(data));
    }

    [Fact]
    public void Cbc_without_a_pattern_matches_the_NIST_vector_and_leaves_a_partial_block_clear()
    {
        using var aes = NistAes();
        var data = Convert.FromHexString(NistPlain + "0102030405");
        SampleCipher.EncryptCbcPattern(aes, InitializationVector.FromBytes(Convert.FromHexString("000102030405060708090a0b0c0d0e0f")), data, [], 0, 0);
        Assert.Equal("7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b273bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7" +
            "0102030405", Convert.ToHexStringLower(data));
    }

    [Fact]
    public void Ctr_runs_one_keystream_across_subsamples_and_round_trips()
    {
        var key = RandomNumberGenerator.GetBytes(16);
        using var aes = new AesBlocks(key);
        var plain = RandomNumberGenerator.GetBytes(1000);
        // Protected runs that are not whole blocks: the counter carries on mid-block into the next run (§9.6.1).
        Subsample[] subsamples = [new(5, 21), new(100, 300), new(0, 7), new(67, 500)];
        var iv = new InitializationVector((UInt128)0x0123456789abcdefUL << 64, 8);
        var data = plain.ToArray();
        SampleCipher.TransformCtr(aes, iv, data, subsamples);
        Assert.Equal(plain[..5], data[..5]);
        Assert.NotEqual(plain[5..26], data[5..26]);
        Assert.Equal(plain[26..126], data[26..126]);
        var ivBytes = new byte[8];
        iv.CopyTo(ivBytes);
        Assert.Equal(plain, CencTestDecryptor.Decrypt(data, key, EncryptionScheme.Cenc, ivBytes, subsamples, 0, 0));
    }

    [Fact]
    public void Cbcs_pattern_encrypts_one_block_in_ten_per_subsample_from_the_constant_iv()
    {
        var key = RandomNumberGenerator.GetBytes(16);
        using var aes = new AesBlocks(key);
        var plain = RandomNumberGenerator.GetBytes(2000);
        Subsample[] subsamples = [new(3, 410), new(10, 1187), new(390, 0)];
        var ivBytes = RandomNumberGenerator.GetBytes(16);
        var data = plain.ToArray();
        SampleCipher.EncryptCbcPattern(aes, InitializationVector.FromBytes(ivBytes), data, subsamples, 1, 9);
        // Block 0 of the first range encrypted, blocks 1-9 clear, block 10 encrypted; the trailing partial block clear.
        Assert.NotEqual(plain[3..19], data[3..19]);
        Assert.Equal(plain[19..163], data[19..163]);
        Assert.NotEqual(plain[163..179], data[163..179]);
        Assert.Equal(plain[403..413], data[403..413]);
        Assert.NotEqual(plain[423..439], data[423..439]);
        Assert.Equal(plain[1607..], data[1607..]);
        Assert.Equal(plain, CencTestDecryptor.Decrypt(data, key, EncryptionScheme.Cbcs, ivBytes, subsamples, 1, 9));
    }

    /// <summary>
    /// The pattern's CBC, block by block on the kept ECB transform, is .NET's own AES-CBC over the crypt blocks of each
    /// range laid end to end (the chain skips the clear blocks, §9.7): checked for several patterns against the one-shot call.
    /// </summary>
    [Theory]
    [InlineData(1, 9)]
    [InlineData(2, 8)]
    [InlineData(5, 5)]
    [InlineData(15, 1)]
    public void A_pattern_s_crypt_blocks_are_one_cbc_chain_per_range(int crypt, int skip)
    {
        var key = RandomNumberGenerator.GetBytes(16);
        using var blocks = new AesBlocks(key);
        using var reference = Aes.Create();
        reference.Key = key;
        var plain = RandomNumberGenerator.GetBytes(3001);
        Subsample[] subsamples = [new(7, 1500), new(11, 1483)];
        var ivBytes = RandomNumberGenerator.GetBytes(16);
        var data = plain.ToArray();
        SampleCipher.EncryptCbcPattern(blocks, InitializationVector.FromBytes(ivBytes), data, subsamples, crypt, skip);
        int at = 0;
        foreach (var subsample in subsamples)
        {
            at += (int)subsample.ClearBytes;
            int whole = (int)subsample.ProtectedBytes / 16 * 16, period = (crypt + skip) * 16;
            var cryptOffsets = Enumerable.Range(0, whole / 16).Select(b => b * 16).Where(o => o % period < crypt * 16).ToArray();
            var laidOut = cryptOffsets.SelectMany(o => plain.Skip(at + o).Take(16)).ToArray();
            var expected = reference.EncryptCbc(laidOut, ivBytes, PaddingMode.None);
            Assert.Equal(expected, cryptOffsets.SelectMany(o => data.Skip(at + o).Take(16)).ToArray());
            at += (int)subsample.ProtectedBytes;
        }
        Assert.Equal(plain, CencTestDecryptor.Decrypt(data, key, EncryptionScheme.Cbcs, ivBytes, subsamples, crypt, skip));
    }

    [Fact]
    public void Subsamples_that_do_not_cover_the_sample_are_refused()
    {
        using var aes = NistAes();
        var iv = new InitializationVector(0, 16);
        Assert.Throws<ArgumentException>(() => SampleCipher.TransformCtr(aes, iv, new byte[100], [new Subsample(10, 20)]));
        Assert.Throws<ArgumentException>(() => SampleCipher.EncryptCbcPattern(aes, iv, new byte[100], [new Subsample(10, 200)], 1, 9));
        Assert.Throws<ArgumentException>(() => SampleCipher.EncryptCbcPattern(aes, new InitializationVector(0, 8), new byte[100], [], 1, 9));
    }

    [Fact]
    public void A_content_key_never_shows_its_key()
    {
        var key = new ContentKey(KeyId.FromBytes(Convert.FromHexString("00112233445566778899aabbccddeeff")), Convert.FromHexString(NistKey));
        Assert.Equal("00112233-4455-6677-8899-aabbccddeeff", key.Id.ToUuidString());
        Assert.DoesNotContain("2b7e", key.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("2B7E", $"{key}", StringComparison.OrdinalIgnoreCase);
        Assert.Contains("withheld", key.ToString(), StringComparison.Ordinal);
    }
}
