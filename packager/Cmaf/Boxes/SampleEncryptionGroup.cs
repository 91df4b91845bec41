using System.Buffers;
using Broadcast.Packager.Cmaf.Encryption;

namespace Broadcast.Packager.Cmaf.Boxes;

/// <summary>
/// One CencSampleEncryptionInformationGroupEntry (ISO/IEC 23001-7 §6, sample group 'seig'): the encryption parameters its
/// samples are under instead of the init segment's tenc defaults (§8.2): whether they are protected, their pattern
/// (crypt and skip blocks, 'cbcs' video 1:9), Per_Sample_IV_Size, the KID and, protected with no per-sample IV, the
/// constant IV. Key rotation names a fragment's key this way (docs/protection.md).
/// </summary>
public readonly record struct SampleEncryptionGroupEntry(bool IsProtected, int PerSampleIvSize, KeyId KeyId, int CryptBlocks = 0, int SkipBlocks = 0,
    InitializationVector? ConstantIv = null)
{
    /// <summary>The fixed part: reserved, pattern, isProtected, Per_Sample_IV_Size, KID.</summary>
    internal const int FixedSize = 20;

    /// <summary>The entry's bytes (§6): 20, and the constant IV's size byte and bytes when it has one.</summary>
    public int Size => FixedSize + (HasConstantIv ? 1 + (ConstantIv?.Size ?? 0) : 0);

    /// <summary>§6: the constant IV is there when the samples are protected with no per-sample IV.</summary>
    public bool HasConstantIv => IsProtected && PerSampleIvSize == 0;

    /// <summary>The tenc defaults of <paramref name="protection"/> as an entry (what samples in no seig group are under).</summary>
    public static SampleEncryptionGroupEntry Of(TrackProtection protection)
    {
        ArgumentNullException.ThrowIfNull(protection);
        return new(true, protection.PerSampleIvSize, protection.KeyId, protection.CryptBlocks, protection.SkipBlocks,
            protection.PerSampleIvSize == 0 ? protection.ConstantIv : null);
    }

    /// <summary>Checks what the entry needs to be written: an IV size 0, 8 or 16 (0 with a constant IV when protected, 0 when not), a 4-bit pattern.</summary>
    public void Validate()
    {
        if (PerSampleIvSize is not (0 or 8 or 16)) throw new ArgumentException($"Per_Sample_IV_Size is 0, 8 or 16, not {PerSampleIvSize}.");
        if (!IsProtected && (PerSampleIvSize != 0 || ConstantIv is not null))
            throw new ArgumentException("An entry of unprotected samples has no IV (§6: Per_Sample_IV_Size 0).");
        if (HasConstantIv && ConstantIv is null) throw new ArgumentException("Per_Sample_IV_Size 0 needs a constant IV (§6).");
        if (!HasConstantIv && ConstantIv is not null) throw new ArgumentException("A constant IV is written only with Per_Sample_IV_Size 0 (§6).");
        if (CryptBlocks is < 0 or > 15 || SkipBlocks is < 0 or > 15) throw new ArgumentException("A pattern's blocks are 0..15 (4 bits each).");
    }

    public override string ToString() => $"seig {(IsProtected ? "protected" : "clear")} {KeyId} IV {PerSampleIvSize}";
}

/// <summary>
/// The two boxes that put a traf's samples in a 'seig' group (key rotation, docs/protection.md): sbgp (ISO/IEC 14496-12
/// §8.9.2, version 0) mapping all <c>sample_count</c> samples to group_description_index 0x10001, and sgpd (§8.9.3,
/// version 1 with default_length) holding that one entry. §8.9.4: in a movie fragment, an index above 0x10000 names an
/// entry of the fragment's own sgpd (1-based), so the traf needs nothing of the init segment. They stand in the traf after
/// the trun; with saiz, saio and senc behind them, those boxes move by <see cref="Size"/> (saio's offset counts from the moof).
/// </summary>
public static class SampleEncryptionGroup
{
    public const uint Sbgp = 0x73626770; // 'sbgp'
    public const uint Sgpd = 0x73677064; // 'sgpd'
    public const uint Seig = 0x73656967; // 'seig'

    /// <summary>§8.9.4: group_description_index values above this name the traf's own sgpd entries (this + 1 is the first).</summary>
    public const uint FragmentLocalIndexBase = 0x10000;

    /// <summary>sbgp version 0 with one entry: full box header, grouping_type, entry_count, sample_count, group_description_index.</summary>
    public const int SampleToGroupSize = 12 + 4 + 4 + 8;

    /// <summary>sgpd version 1 with one entry: full box header, grouping_type, default_length, entry_count, the entry.</summary>
    public static int DescriptionSize(in SampleEncryptionGroupEntry entry) => 12 + 4 + 4 + 4 + entry.Size;

    /// <summary>The bytes sbgp and sgpd take together in the traf.</summary>
    public static int Size(in SampleEncryptionGroupEntry entry) => SampleToGroupSize + DescriptionSize(entry);

    /// <summary>sbgp then sgpd: the traf's <paramref name="sampleCount"/> samples all under <paramref name="entry"/>.</summary>
    public static void Write(IBufferWriter<byte> output, uint sampleCount, in SampleEncryptionGroupEntry entry)
    {
        ArgumentNullException.ThrowIfNull(output);
        int size = Size(entry);
        var writer = new BoxSpanWriter(output.GetSpan(size));
        WriteTo(ref writer, sampleCount, entry);
        output.Advance(size);
    }

    /// <summary>sbgp alone: <paramref name="sampleCount"/> samples to the traf's first 'seig' entry.</summary>
    public static void WriteSampleToGroup(IBufferWriter<byte> output, uint sampleCount)
    {
        ArgumentNullException.ThrowIfNull(output);
        var writer = new BoxSpanWriter(output.GetSpan(SampleToGroupSize));
        WriteSampleToGroupTo(ref writer, sampleCount);
        output.Advance(SampleToGroupSize);
    }

    /// <summary>sgpd alone, holding <paramref name="entry"/>.</summary>
    public static void WriteDescription(IBufferWriter<byte> output, in SampleEncryptionGroupEntry entry)
    {
        ArgumentNullException.ThrowIfNull(output);
        int size = DescriptionSize(entry);
        var writer = new BoxSpanWriter(output.GetSpan(size));
        WriteDescriptionTo(ref writer, entry);
        output.Advance(size);
    }

    /// <summary>sbgp then sgpd into a span writer (a moof written whole, as <see cref="CmafWriter"/> writes one).</summary>
    public static void WriteTo(ref BoxSpanWriter writer, uint sampleCount, in SampleEncryptionGroupEntry entry)
    {
        entry.Validate(); // before either box is written
        WriteSampleToGroupTo(ref writer, sampleCount);
        WriteDescriptionTo(ref writer, entry);
    }

    private static void WriteSampleToGroupTo(ref BoxSpanWriter writer, uint sampleCount)
    {
        if (sampleCount == 0) throw new ArgumentOutOfRangeException(nameof(sampleCount), sampleCount, "A traf has at least one sample.");
        writer.WriteFullBoxHeader(SampleToGroupSize, Sbgp, 0, 0);
        writer.WriteUInt32(Seig);
        writer.WriteUInt32(1); // entry_count
        writer.WriteUInt32(sampleCount);
        writer.WriteUInt32(FragmentLocalIndexBase + 1);
    }

    private static void WriteDescriptionTo(ref BoxSpanWriter writer, in SampleEncryptionGroupEntry entry)
    {
        entry.Validate();
        writer.WriteFullBoxHeader(DescriptionSize(entry), Sgpd, 1, 0);
        writer.WriteUInt32(Seig);
        writer.WriteUInt32((uint)entry.Size); // default_length: every entry this size, none carries its own
        writer.WriteUInt32(1); // entry_count
        writer.WriteUInt8(0); // reserved
        writer.WriteUInt8((byte)(entry.CryptBlocks << 4 | entry.SkipBlocks));
        writer.WriteUInt8(entry.IsProtected ? (byte)1 : (byte)0);
        writer.WriteUInt8((byte)entry.PerSampleIvSize);
        Span<byte> bytes = stackalloc byte[16];
        entry.KeyId.CopyTo(bytes);
        writer.WriteBytes(bytes);
        if (!entry.HasConstantIv) return;
        var iv = entry.ConstantIv!.Value;
        writer.WriteUInt8((byte)iv.Size);
        iv.CopyTo(bytes);
        writer.WriteBytes(bytes[..iv.Size]);
    }
}
