using System.Security.Cryptography;

namespace Broadcast.Packager.Cmaf.Encryption;

/// <summary>
/// One content key's AES-128, kept for a track's life: .NET's one-shot calls (<see cref="SymmetricAlgorithm.EncryptEcb(ReadOnlySpan{byte}, PaddingMode)"/>,
/// <c>EncryptCbc</c>) set up the cipher, key schedule included, on every call, about 3-5 µs on this project's machines;
/// 'cbcs' video encrypts one 16-byte block in ten, one call each, so that setup was most of its cost. An ECB transform
/// made once costs well under a microsecond per block. The blocks go through a buffer of this instance (the transform
/// takes arrays), so an instance serves one caller at a time (a track's encryptor).
/// </summary>
public sealed class AesBlocks : IDisposable
{
    /// <summary>The most bytes one call hands to the transform: a keystream run of 64 counter blocks.</summary>
    public const int MaxBytes = 64 * Block;

    private const int Block = 16;
    private readonly Aes _aes;
    private readonly ICryptoTransform _ecb;
    private readonly byte[] _input = new byte[MaxBytes];
    private readonly byte[] _output = new byte[MaxBytes];

    public AesBlocks(ReadOnlySpan<byte> key)
    {
        if (key.Length != Block) throw new ArgumentException("A content key is 16 bytes (AES-128).", nameof(key));
        _aes = Aes.Create();
        var copy = key.ToArray();
        _aes.Key = copy; // the setter keeps its own copy
        CryptographicOperations.ZeroMemory(copy);
        // The one-shot calls ignore these two; the transform below is made with them.
        _aes.Mode = CipherMode.ECB;
        _aes.Padding = PaddingMode.None;
        _ecb = _aes.CreateEncryptor();
    }

    /// <summary>The key's AES for the one-shot CBC of long runs (whole-sample 'cbcs' audio), where one call covers many blocks.</summary>
    public Aes Aes => _aes;

    /// <summary>Where the caller writes the plaintext blocks (<see cref="MaxBytes"/> at most) before <see cref="EncryptInput"/>.</summary>
    public Span<byte> Input => _input;

    /// <summary>Encrypts the first <paramref name="length"/> bytes of <see cref="Input"/> (whole blocks) with AES-ECB; returns them.</summary>
    public ReadOnlySpan<byte> EncryptInput(int length)
    {
        if (length <= 0 || length > MaxBytes || length % Block != 0)
            throw new ArgumentOutOfRangeException(nameof(length), length, "1 to 64 whole 16-byte blocks.");
        int done = _ecb.TransformBlock(_input, 0, length, _output, 0);
        if (done != length) throw new CryptographicException($"AES-ECB returned {done} of {length} bytes.");
        return _output.AsSpan(0, length);
    }

    /// <summary>One 16-byte block encrypted in place (AES-ECB): a step of a CBC chain the caller keeps.</summary>
    public void EncryptBlock(Span<byte> block)
    {
        block[..Block].CopyTo(_input);
        EncryptInput(Block)[..Block].CopyTo(block);
    }

    public void Dispose()
    {
        _ecb.Dispose();
        _aes.Dispose();
    }
}
