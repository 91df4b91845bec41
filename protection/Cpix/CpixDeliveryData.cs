using System.Security.Cryptography;
using System.Xml;

namespace Broadcast.Protection.Cpix;

/// <summary>An XML Encryption <c>EncryptedData</c>'s parts as read: <c>enc:EncryptionMethod@Algorithm</c> and
/// <c>enc:CipherData/enc:CipherValue</c> (base64), either possibly missing.</summary>
internal sealed class EncryptedPart
{
    public string? Algorithm;
    public string? Cipher;

    /// <summary>Takes an <c>enc:</c> element of this part; true when it moved the reader past it.</summary>
    public bool Take(XmlReader reader, string what)
    {
        if (reader.NamespaceURI != CpixRequest.EncNamespace) return false;
        if (reader.LocalName == "EncryptionMethod")
            Algorithm = Once(Algorithm, reader.GetAttribute("Algorithm") ?? "", what + " enc:EncryptionMethod");
        else if (reader.LocalName == "CipherValue")
        {
            Cipher = Once(Cipher, reader.ReadElementContentAsString(), what + " enc:CipherValue");
            return true;
        }
        return false;
    }

    internal static string Once(string? had, string now, string what) =>
        had is null ? now : throw new CpixRefusedException($"the answer has {what} twice");
}

/// <summary>A content key's <c>pskc:EncryptedValue</c> and its sibling <c>pskc:ValueMAC</c> (RFC 6030 §6.1.1).</summary>
internal sealed class EncryptedKeyValue
{
    public readonly EncryptedPart Value = new();
    public string? Mac;
}

/// <summary>One <c>cpix:DeliveryData</c> as read (CPIX 2.3 §5.3.2): its DeliveryKey's certificate, its DocumentKey and its
/// MACMethod, each with its algorithm and the RSA-wrapped key.</summary>
internal sealed class DeliveryEntry
{
    public string? Certificate;
    public bool HasDocumentKey, HasMacMethod;
    public string? DocumentKeyAlgorithm, MacAlgorithm;
    public readonly EncryptedPart DocumentKey = new(), MacKey = new();
}

/// <summary>
/// The answer's DeliveryDataList and the decryption of a content key under it (CPIX 2.3 §8.1, PSKC RFC 6030 §6.1): the
/// DeliveryData whose DeliveryKey is this node's certificate gives a 32-byte document key (AES-256-CBC) and a MAC key
/// (HMAC-SHA512), each RSA-OAEP encrypted to that certificate; the content key's CipherValue is a 16-byte IV then the
/// AES-256-CBC/PKCS#7 ciphertext of the 16-byte key, and its ValueMAC the HMAC-SHA512 of that CipherValue (IV included),
/// checked before anything is decrypted. Every fault is a <see cref="CpixRefusedException"/> that quotes no key material.
/// </summary>
internal sealed class CpixDeliveryData
{
    public const string Aes256Cbc = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";
    public const string RsaOaepMgf1p = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
    public const string HmacSha512 = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha512";

    /// <summary>More DeliveryData than any answer to one recipient needs; past it the answer is refused.</summary>
    public const int MaxEntries = 16;

    public List<DeliveryEntry> Entries { get; } = [];
    private DeliveryEntry? _entry;
    private EncryptedPart? _part;

    public bool Inside => _entry is not null;

    /// <summary>An element met outside ContentKey and DRMSystem; true when it moved the reader past it.</summary>
    public bool Element(XmlReader reader)
    {
        bool cpix = reader.NamespaceURI == CpixRequest.CpixNamespace;
        if (_entry is null)
        {
            if (!cpix || reader.LocalName != "DeliveryData") return false;
            if (Entries.Count == MaxEntries) throw new CpixRefusedException($"the answer has more than {MaxEntries} cpix:DeliveryData");
            _entry = new DeliveryEntry();
            if (reader.IsEmptyElement) End();
            return false;
        }
        if (reader.NamespaceURI == CpixRequest.DsNamespace && reader.LocalName == "X509Certificate")
        {
            _entry.Certificate = EncryptedPart.Once(_entry.Certificate, reader.ReadElementContentAsString(), "a cpix:DeliveryData's ds:X509Certificate");
            return true;
        }
        if (cpix && reader.LocalName == "DocumentKey" && _part is null)
        {
            _entry.HasDocumentKey = !_entry.HasDocumentKey ? true : throw new CpixRefusedException("a cpix:DeliveryData has two cpix:DocumentKey");
            (_entry.DocumentKeyAlgorithm, _part) = (reader.GetAttribute("Algorithm"), reader.IsEmptyElement ? null : _entry.DocumentKey);
            return false;
        }
        if (cpix && reader.LocalName == "MACMethod" && _part is null)
        {
            _entry.HasMacMethod = !_entry.HasMacMethod ? true : throw new CpixRefusedException("a cpix:DeliveryData has two cpix:MACMethod");
            (_entry.MacAlgorithm, _part) = (reader.GetAttribute("Algorithm"), reader.IsEmptyElement ? null : _entry.MacKey);
            return false;
        }
        return _part?.Take(reader, _part == _entry.DocumentKey ? "the document key's" : "the MAC key's") ?? false;
    }

    public void EndElement(XmlReader reader)
    {
        if (_entry is null || reader.NamespaceURI != CpixRequest.CpixNamespace) return;
        if (reader.LocalName is "DocumentKey" or "MACMethod") _part = null;
        else if (reader.LocalName == "DeliveryData") End();
    }

    private void End()
    {
        Entries.Add(_entry!);
        (_entry, _part) = (null, null);
    }

    /// <summary>The content key of <paramref name="encrypted"/>, decrypted with the document key of the DeliveryData made
    /// for <paramref name="recipient"/>. The caller zeroes the key it gets.</summary>
    public byte[] Decrypt(EncryptedKeyValue encrypted, CpixRecipient? recipient)
    {
        if (recipient is null)
            throw new CpixRefusedException("the key server sent the key encrypted (pskc:EncryptedValue under a document key) but this node has no " +
                "recipient key: set Protection:Cpix:RecipientCertificatePath and RecipientPrivateKeyPath, or have it answer pskc:PlainValue");
        var ours = Entries.Where(e => Certificate(e.Certificate).AsSpan().SequenceEqual(recipient.Certificate)).ToList();
        if (ours.Count == 0)
            throw new CpixRefusedException($"the key is encrypted but none of the answer's {Entries.Count} cpix:DeliveryData is for this node's certificate " +
                "(Protection:Cpix:RecipientCertificatePath)");
        if (ours.Count > 1) throw new CpixRefusedException($"the answer has {ours.Count} cpix:DeliveryData for this node's certificate");
        var entry = ours[0];
        if (!entry.HasDocumentKey) throw new CpixRefusedException("the cpix:DeliveryData for this node has no cpix:DocumentKey");
        Expect(entry.DocumentKeyAlgorithm, Aes256Cbc, "the cpix:DocumentKey's Algorithm");
        if (!entry.HasMacMethod) throw new CpixRefusedException("the cpix:DeliveryData for this node has no cpix:MACMethod: an encrypted key must come with its MAC (CPIX §8.1)");
        Expect(entry.MacAlgorithm, HmacSha512, "the cpix:MACMethod's Algorithm");
        Expect(encrypted.Value.Algorithm, Aes256Cbc, "the key's enc:EncryptionMethod");
        byte[] cipher = Base64(encrypted.Value.Cipher, "the key's enc:CipherValue");
        if (encrypted.Mac is null) throw new CpixRefusedException("the encrypted key has no pskc:ValueMAC");
        byte[] mac = Base64(encrypted.Mac, "the key's pskc:ValueMAC");
        if (mac.Length != HMACSHA512.HashSizeInBytes)
            throw new CpixRefusedException($"the key's pskc:ValueMAC is {mac.Length} bytes, not {HMACSHA512.HashSizeInBytes} (HMAC-SHA512)");
        byte[] documentKey = Unwrap(recipient, entry.DocumentKey, "the document key"), macKey = [];
        try
        {
            if (documentKey.Length != 32) throw new CpixRefusedException($"the document key is {documentKey.Length} bytes, not 32 (AES-256)");
            macKey = Unwrap(recipient, entry.MacKey, "the MAC key");
            if (macKey.Length == 0) throw new CpixRefusedException("the MAC key is empty");
            // RFC 6030 §6.1.1: the MAC covers the CipherValue as sent, IV included; checked before decrypting (no padding oracle).
            if (!CryptographicOperations.FixedTimeEquals(HMACSHA512.HashData(macKey, cipher), mac))
                throw new CpixRefusedException("the key's pskc:ValueMAC does not match its enc:CipherValue (altered, or not made with this MAC key)");
            if (cipher.Length < 32 || cipher.Length % 16 != 0)
                throw new CpixRefusedException($"the key's enc:CipherValue is {cipher.Length} bytes, not a 16-byte IV followed by whole AES blocks");
            using var aes = Aes.Create();
            aes.Key = documentKey;
            byte[] key;
            try
            {
                key = aes.DecryptCbc(cipher.AsSpan(16), cipher.AsSpan(0, 16), PaddingMode.PKCS7);
            }
            catch (CryptographicException e)
            {
                throw new CpixRefusedException("the encrypted key's padding is not PKCS#7 once decrypted with the document key", e);
            }
            if (key.Length != 16)
            {
                CryptographicOperations.ZeroMemory(key);
                throw new CpixRefusedException($"the decrypted key is {key.Length} bytes, not 16 (AES-128)");
            }
            return key;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(documentKey);
            CryptographicOperations.ZeroMemory(macKey);
        }
    }

    private static byte[] Unwrap(CpixRecipient recipient, EncryptedPart part, string what)
    {
        Expect(part.Algorithm, RsaOaepMgf1p, $"{what}'s enc:EncryptionMethod");
        byte[] wrapped = Base64(part.Cipher, $"{what}'s enc:CipherValue");
        try
        {
            return recipient.Decrypt(wrapped);
        }
        catch (CryptographicException e)
        {
            throw new CpixRefusedException($"{what} could not be decrypted with this node's private key (RSA-OAEP)", e);
        }
    }

    private static void Expect(string? algorithm, string expected, string what)
    {
        if (algorithm is null) throw new CpixRefusedException($"{what} is missing (expected {expected})");
        if (algorithm.Trim() != expected)
            throw new CpixRefusedException($"{what} is the unknown algorithm '{Shown(algorithm)}', not {expected}");
    }

    private static byte[] Certificate(string? text)
    {
        try
        {
            return text is null ? [] : Convert.FromBase64String(text.Trim());
        }
        catch (FormatException)
        {
            return []; // not a certificate: not ours
        }
    }

    private static byte[] Base64(string? text, string what)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new CpixRefusedException($"{what} is missing");
        try
        {
            return Convert.FromBase64String(text.Trim());
        }
        catch (FormatException e)
        {
            throw new CpixRefusedException($"{what} is not valid base64", e);
        }
    }

    private static string Shown(string text) => new(text.Take(60).Select(c => char.IsControl(c) ? '?' : c).ToArray());
}
