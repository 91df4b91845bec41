using System.Buffers.Binary;
using Broadcast.Packager.Cmaf.Encryption;

namespace Broadcast.Packager.Cmaf.Boxes;

/// <summary>
/// What an encrypted track's init segment says (ISO/IEC 23001-7 §8, ISO/IEC 14496-12 §8.12): its sample entry becomes
/// encv/enca with a sinf (frma: the original format, schm: the scheme, version 0x00010000, schi/tenc: the default KID,
/// Per_Sample_IV_Size, for 'cbcs' the pattern (tenc version 1) and the constant IV), and the moov carries the pssh boxes
/// the key provider gave (each one whole box, written as given).
/// </summary>
public sealed record TrackProtection(uint OriginalFormat, EncryptionScheme Scheme, KeyId KeyId, int PerSampleIvSize, int CryptBlocks,
    int SkipBlocks, InitializationVector? ConstantIv)
{
    public const uint Encv = 0x656E6376; // 'encv'
    public const uint Enca = 0x656E6361; // 'enca'
    public const uint Sinf = 0x73696E66; // 'sinf'
    public const uint Frma = 0x66726D61; // 'frma'
    public const uint Schm = 0x7363686D; // 'schm'
    public const uint Schi = 0x73636869; // 'schi'
    public const uint Tenc = 0x74656E63; // 'tenc'
    public const uint Pssh = 0x70737368; // 'pssh'
    public const uint CencScheme = 0x63656E63; // 'cenc'
    public const uint CbcsScheme = 0x63626373; // 'cbcs'
    public const uint SchemeVersion = 0x00010000; // §4.2: major version 1, minor 0

    /// <summary>pssh boxes (§8.1), whole, from the key provider.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> SystemHeaders { get; init; } = [];

    private int TencSize => 32 + (PerSampleIvSize == 0 ? 1 + ConstantIv!.Value.Size : 0);

    /// <summary>The sinf box's size (§8.12.1).</summary>
    public int SinfSize => 8 + 12 + 20 + 8 + TencSize;

    public int SystemHeadersSize => SystemHeaders.Sum(b => b.Length);

    /// <summary>Checks what the boxes need: an IV size 0, 8 or 16 (0 only with a constant IV) and each pssh a whole pssh box.</summary>
    public void Validate()
    {
        if (PerSampleIvSize is not (0 or 8 or 16)) throw new ArgumentException($"Per_Sample_IV_Size is 0, 8 or 16, not {PerSampleIvSize}.");
        if (PerSampleIvSize == 0 && ConstantIv is null) throw new ArgumentException("Per_Sample_IV_Size 0 needs a constant IV (§8.2.2).");
        if (CryptBlocks is < 0 or > 15 || SkipBlocks is < 0 or > 15) throw new ArgumentException("A pattern's blocks are 0..15 (4 bits each).");
        foreach (var box in SystemHeaders) ProtectionSystemHeader.Validate(box.Span);
    }

    public void WriteSinf(ref BoxSpanWriter writer)
    {
        int sinf = writer.StartBox(Sinf);
        writer.WriteBoxHeader(12, Frma);
        writer.WriteUInt32(OriginalFormat);
        writer.WriteFullBoxHeader(20, Schm, 0, 0);
        writer.WriteUInt32(Scheme == EncryptionScheme.Cenc ? CencScheme : CbcsScheme);
        writer.WriteUInt32(SchemeVersion);
        int schi = writer.StartBox(Schi);
        bool pattern = Scheme == EncryptionScheme.Cbcs;
        // §8.2.2: version 1 carries the pattern (default_crypt_byte_block, default_skip_byte_block); 'cbcs' uses it (§10.4).
        writer.WriteFullBoxHeader(TencSize, Tenc, pattern ? (byte)1 : (byte)0, 0);
        writer.WriteUInt8(0); // reserved
        writer.WriteUInt8(pattern ? (byte)(CryptBlocks << 4 | SkipBlocks) : (byte)0);
        writer.WriteUInt8(1); // default_isProtected
        writer.WriteUInt8((byte)PerSampleIvSize);
        Span<byte> bytes = stackalloc byte[16];
        KeyId.CopyTo(bytes);
        writer.WriteBytes(bytes);
        if (PerSampleIvSize == 0)
        {
            var iv = ConstantIv!.Value;
            writer.WriteUInt8((byte)iv.Size);
            iv.CopyTo(bytes);
            writer.WriteBytes(bytes[..iv.Size]);
        }
        writer.EndBox(schi);
        writer.EndBox(sinf);
    }

    public void WriteSystemHeaders(ref BoxSpanWriter writer)
    {
        foreach (var box in SystemHeaders) writer.WriteBytes(box.Span);
    }
}

/// <summary>pssh (ISO/IEC 23001-7 §8.1): a DRM system's data for the keys of a file, built here or checked as given.</summary>
public static class ProtectionSystemHeader
{
    /// <summary>The W3C ClearKey system ID (W3C Encrypted Media Extensions, Common SystemID and PSSH Box Format).</summary>
    public static readonly UInt128 ClearKeySystemId = UInt128.Parse("1077efecc0b24d02ace33c1e52e2fb4b", System.Globalization.NumberStyles.HexNumber,
        System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A version 1 pssh naming <paramref name="keyIds"/>, with <paramref name="data"/> as its Data.</summary>
    public static byte[] Create(UInt128 systemId, IReadOnlyList<KeyId> keyIds, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(keyIds);
        int size = checked(12 + 16 + 4 + 16 * keyIds.Count + 4 + data.Length);
        var box = new byte[size];
        var writer = new BoxSpanWriter(box);
        writer.WriteFullBoxHeader(size, TrackProtection.Pssh, 1, 0);
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, systemId);
        writer.WriteBytes(bytes);
        writer.WriteUInt32((uint)keyIds.Count);
        foreach (var kid in keyIds)
        {
            kid.CopyTo(bytes);
            writer.WriteBytes(bytes);
        }
        writer.WriteUInt32((uint)data.Length);
        writer.WriteBytes(data);
        return box;
    }

    /// <summary>Refuses bytes that are not exactly one pssh box of version 0 or 1 whose fields fit its size.</summary>
    public static void Validate(ReadOnlySpan<byte> box)
    {
        if (box.Length < 32) throw new InvalidDataException("a pssh box is at least 32 bytes");
        if (BinaryPrimitives.ReadUInt32BigEndian(box) != (uint)box.Length) throw new InvalidDataException("a pssh box's size is not its length");
        if (BinaryPrimitives.ReadUInt32BigEndian(box[4..]) != TrackProtection.Pssh) throw new InvalidDataException("not a pssh box");
        int version = box[8];
        int at = 28;
        if (version > 1) throw new InvalidDataException($"pssh version {version} is unknown");
        if (version == 1)
        {
            uint kids = BinaryPrimitives.ReadUInt32BigEndian(box[at..]);
            if (kids > (uint)(box.Length - at - 8) / 16) throw new InvalidDataException("a pssh names more KIDs than it holds");
            at += 4 + 16 * (int)kids;
        }
        if (box.Length - at < 4) throw new InvalidDataException("a pssh ends before its DataSize");
        if (BinaryPrimitives.ReadUInt32BigEndian(box[at..]) != (uint)(box.Length - at - 4))
            throw new InvalidDataException("a pssh's DataSize is not what it holds");
    }
}
