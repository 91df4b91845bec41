using Microsoft.IdentityModel.Tokens;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Math.EC.Rfc8032;
using Org.BouncyCastle.Security;

namespace Broadcast.Control.Playback.Jwt;

/// <summary>
/// An Ed25519 public key (RFC 8037 §2: a JWK of <c>kty</c> <c>OKP</c>, <c>crv</c> <c>Ed25519</c>, or a PEM SubjectPublicKeyInfo) that
/// verifies EdDSA playback JWTs (RFC 8037 §3.1). Microsoft.IdentityModel 8.x parses and validates the token but has no Ed25519; the
/// signature check alone is BouncyCastle's (RFC 8032 §5.1.7), plugged in through this key's own <see cref="CryptoProviderFactory"/>, so
/// every other key keeps the library's providers. Verification only: a private key is never held.
/// </summary>
public sealed class Ed25519SecurityKey : AsymmetricSecurityKey
{
    /// <summary>RFC 8032 §5.1.5: a public key is 32 bytes.</summary>
    public const int PublicKeyLength = 32;

    /// <summary>The JWS <c>alg</c> of RFC 8037 §3.1.</summary>
    public const string Algorithm = "EdDSA";

    private readonly Ed25519PublicKeyParameters _publicKey;

    /// <summary>Throws <see cref="FormatException"/> for bytes that are not a 32-byte Ed25519 point.</summary>
    public Ed25519SecurityKey(ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != PublicKeyLength)
            throw new FormatException($"an Ed25519 public key is {PublicKeyLength} bytes, not {publicKey.Length}");
        try
        {
            _publicKey = new Ed25519PublicKeyParameters(publicKey);
        }
        catch (ArgumentException e)
        {
            throw new FormatException("not an Ed25519 public key: " + e.Message, e);
        }

        CryptoProviderFactory = new CryptoProviderFactory { CustomCryptoProvider = Ed25519CryptoProvider.Instance, CacheSignatureProviders = false };
    }

    /// <summary>The key of a PEM <c>-----BEGIN PUBLIC KEY-----</c> block, or null when it holds another algorithm's key.</summary>
    public static Ed25519SecurityKey? FromSubjectPublicKeyInfo(byte[] der)
    {
        try
        {
            return PublicKeyFactory.CreateKey(der) is Ed25519PublicKeyParameters ed ? new Ed25519SecurityKey(ed.GetEncoded()) : null;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or SecurityUtilityException)
        {
            return null;
        }
    }

    public override int KeySize => 256;

    [Obsolete("HasPrivateKey is obsolete in the base type; PrivateKeyStatus says the same.")]
    public override bool HasPrivateKey => false;

    public override PrivateKeyStatus PrivateKeyStatus => PrivateKeyStatus.DoesNotExist;

    /// <summary>RFC 8032 §5.1.7 verification of <paramref name="signature"/> (64 bytes) over <paramref name="message"/>.</summary>
    public bool Verify(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != Ed25519.SignatureSize) return false;
        var signer = new Ed25519Signer();
        signer.Init(false, _publicKey);
        signer.BlockUpdate(message);
        return signer.VerifySignature(signature.ToArray());
    }

    private sealed class Ed25519CryptoProvider : ICryptoProvider
    {
        public static readonly Ed25519CryptoProvider Instance = new();

        public bool IsSupportedAlgorithm(string algorithm, params object[] args)
            => algorithm == Algorithm && args is [Ed25519SecurityKey, ..] && (args.Length < 2 || args[1] is false);

        public object Create(string algorithm, params object[] args)
        {
            if (!IsSupportedAlgorithm(algorithm, args)) throw new NotSupportedException($"{algorithm} signatures are not verified by an Ed25519 key");
            return new Ed25519SignatureProvider((Ed25519SecurityKey)args[0]);
        }

        public void Release(object cryptoInstance)
        {
            if (cryptoInstance is IDisposable disposable) disposable.Dispose();
        }
    }

    private sealed class Ed25519SignatureProvider(Ed25519SecurityKey key) : SignatureProvider(key, Ed25519SecurityKey.Algorithm)
    {
        public override byte[] Sign(byte[] input) => throw new NotSupportedException("an Ed25519 playback key only verifies");

        public override bool Verify(byte[] input, byte[] signature)
        {
            ArgumentNullException.ThrowIfNull(input);
            ArgumentNullException.ThrowIfNull(signature);
            return key.Verify(input, signature);
        }

        public override bool Verify(byte[] input, int inputOffset, int inputLength, byte[] signature, int signatureOffset, int signatureLength)
        {
            ArgumentNullException.ThrowIfNull(input);
            ArgumentNullException.ThrowIfNull(signature);
            return key.Verify(input.AsSpan(inputOffset, inputLength), signature.AsSpan(signatureOffset, signatureLength));
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
