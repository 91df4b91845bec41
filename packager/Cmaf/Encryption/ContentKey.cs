using System.Buffers.Binary;
using System.Globalization;

namespace Broadcast.Packager.Cmaf.Encryption;

/// <summary>
/// How the packager encrypts a broadcast. The Common Encryption schemes (ISO/IEC 23001-7 §4.2, the schm scheme_type):
/// <see cref="Cenc"/>, AES-CTR without a pattern (§10.1), and <see cref="Cbcs"/>, AES-CBC with a 1:9 pattern on video and a
/// constant IV (§10.4). And <see cref="Aes128"/>, which is not Common Encryption: HLS whole-segment encryption (RFC 8216bis
/// §4.4.4.4 METHOD=AES-128), where the CMAF stays clear inside and each stored segment or part is AES-128-CBC encrypted whole
/// (<see cref="WholeSegmentCipher"/>); init segments stay clear.
/// </summary>
public enum EncryptionScheme
{
    Cenc,
    Cbcs,
    Aes128,
}

/// <summary>The spelling of <see cref="EncryptionScheme"/> in manifests' attributes and the live state: "cenc", "cbcs", "aes-128".</summary>
public static class EncryptionSchemes
{
    public static string Name(EncryptionScheme scheme) => scheme switch
    {
        EncryptionScheme.Cenc => "cenc",
        EncryptionScheme.Cbcs => "cbcs",
        EncryptionScheme.Aes128 => "aes-128",
        _ => throw new ArgumentOutOfRangeException(nameof(scheme), scheme, "No such encryption scheme."),
    };

    /// <summary>The scheme of a name, or null for a word this code does not write.</summary>
    public static EncryptionScheme? Parse(string? name) => name switch
    {
        "cenc" => EncryptionScheme.Cenc,
        "cbcs" => EncryptionScheme.Cbcs,
        "aes-128" => EncryptionScheme.Aes128,
        _ => null,
    };
}

/// <summary>A key identifier (KID, ISO/IEC 23001-7 §8.2.1 tenc default_KID): 16 bytes, not secret, named in manifests.</summary>
public readonly record struct KeyId(UInt128 Value)
{
    public static KeyId FromBytes(ReadOnlySpan<byte> bytes) =>
        bytes.Length == 16 ? new KeyId(BinaryPrimitives.ReadUInt128BigEndian(bytes))
            : throw new ArgumentException($"A key ID is 16 bytes, got {bytes.Length}.", nameof(bytes));

    public void CopyTo(Span<byte> destination) => BinaryPrimitives.WriteUInt128BigEndian(destination, Value);

    /// <summary>The 16 bytes, in the order tenc and pssh carry them.</summary>
    public byte[] ToArray()
    {
        var bytes = new byte[16];
        CopyTo(bytes);
        return bytes;
    }

    /// <summary>The UUID spelling DASH's cenc:default_KID uses (ISO/IEC 23001-7 §11.2), lower-case hex with dashes.</summary>
    public string ToUuidString() => UuidText(Value);

    /// <summary>16 bytes as a UUID's text (RFC 9562 §4): a KID's, or a DRM system ID's.</summary>
    public static string UuidText(UInt128 value)
    {
        string hex = value.ToString("x32", CultureInfo.InvariantCulture);
        return $"{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..]}";
    }

    public override string ToString() => ToUuidString();
}

/// <summary>
/// A content key: its KID and its 128-bit AES key. The key itself never leaves through <see cref="ToString"/>, a record's
/// generated members or a log: it is reached only by <see cref="CopyKeyTo"/>.
/// </summary>
public readonly struct ContentKey : IEquatable<ContentKey>
{
    private readonly UInt128 _key;

    public ContentKey(KeyId id, ReadOnlySpan<byte> key)
    {
        if (key.Length != 16) throw new ArgumentException($"A content key is 16 bytes (AES-128), got {key.Length}.", nameof(key));
        Id = id;
        _key = BinaryPrimitives.ReadUInt128BigEndian(key);
    }

    public KeyId Id { get; }

    public void CopyKeyTo(Span<byte> destination) => BinaryPrimitives.WriteUInt128BigEndian(destination, _key);

    public bool Equals(ContentKey other) => Id == other.Id && _key == other._key;

    public override bool Equals(object? obj) => obj is ContentKey other && Equals(other);

    public override int GetHashCode() => Id.GetHashCode();

    public static bool operator ==(ContentKey left, ContentKey right) => left.Equals(right);

    public static bool operator !=(ContentKey left, ContentKey right) => !left.Equals(right);

    public override string ToString() => $"ContentKey {Id} (key withheld)";
}

/// <summary>
/// An initialization vector of 8 or 16 bytes (ISO/IEC 23001-7 §9.1: Per_Sample_IV_Size 8 or 16; a constant IV is 8 or 16).
/// An 8-byte IV fills the high half of the first counter block, so <see cref="Value"/> keeps it in the high 64 bits.
/// </summary>
public readonly record struct InitializationVector
{
    public InitializationVector(UInt128 value, int size)
    {
        if (size is not (8 or 16)) throw new ArgumentOutOfRangeException(nameof(size), size, "An IV is 8 or 16 bytes.");
        if (size == 8 && (ulong)value != 0)
            throw new ArgumentException("An 8-byte IV has its low 64 bits zero (they are the block counter).", nameof(value));
        Value = value;
        Size = size;
    }

    /// <summary>The first AES block: the IV, zero-padded on the right to 16 bytes (§9.6 for CTR; the CBC IV for 16 bytes).</summary>
    public UInt128 Value { get; }

    public int Size { get; }

    public static InitializationVector FromBytes(ReadOnlySpan<byte> bytes)
    {
        Span<byte> block = stackalloc byte[16];
        block.Clear();
        if (bytes.Length is not (8 or 16)) throw new ArgumentException($"An IV is 8 or 16 bytes, got {bytes.Length}.", nameof(bytes));
        bytes.CopyTo(block);
        return new InitializationVector(BinaryPrimitives.ReadUInt128BigEndian(block), bytes.Length);
    }

    /// <summary>The IV as stored in senc or tenc: its first <see cref="Size"/> bytes.</summary>
    public void CopyTo(Span<byte> destination)
    {
        Span<byte> block = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(block, Value);
        block[..Size].CopyTo(destination);
    }
}

/// <summary>
/// One subsample (ISO/IEC 23001-7 §7.2.2 senc): BytesOfClearData bytes left clear, then BytesOfProtectedData bytes
/// protected. A sample's subsamples cover it exactly, in order.
/// </summary>
public readonly record struct Subsample(ushort ClearBytes, uint ProtectedBytes);
