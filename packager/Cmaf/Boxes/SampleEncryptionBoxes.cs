using Broadcast.Packager.Cmaf.Encryption;

namespace Broadcast.Packager.Cmaf.Boxes;

/// <summary>
/// A traf's encryption boxes, after its trun: saiz (ISO/IEC 14496-12 §8.7.8) with each sample's auxiliary information
/// size, saio (§8.7.9) with the offset of the first of them, and senc (ISO/IEC 23001-7 §7.2) holding them: per sample
/// its IV and, with flags 0x2, its subsamples. saio's offset is from the moof's first byte (tfhd default-base-is-moof,
/// §8.8.7.1) to senc's first entry, so a reader that follows saiz/saio and one that reads senc find the same bytes.
/// Nothing is written where there is no auxiliary information (a constant IV and whole-sample encryption, 'cbcs' audio).
/// </summary>
public static class SampleEncryptionBoxes
{
    public const uint Senc = 0x73656E63; // 'senc'
    public const uint Saiz = 0x7361697A; // 'saiz'
    public const uint Saio = 0x7361696F; // 'saio'
    public const uint UseSubsampleEncryption = 0x2; // senc flags (§7.2.1)

    private const int SaioSize = 20; // full box header, entry_count, one 32-bit offset (version 0)
    private const int SencHeaderSize = 16; // full box header, sample_count

    /// <summary>The bytes saiz, saio and senc take together.</summary>
    public static int Size(FragmentEncryption encryption)
    {
        ArgumentNullException.ThrowIfNull(encryption);
        if (!encryption.HasAuxiliaryInformation) return 0;
        return checked(SaizSize(encryption, out _) + SaioSize + SencHeaderSize + InfoBytes(encryption));
    }

    /// <summary>Writes saiz, saio and senc; <paramref name="offsetInMoof"/> is where saiz starts, from the moof's first byte.</summary>
    public static void WriteTo(ref BoxSpanWriter writer, FragmentEncryption encryption, int offsetInMoof)
    {
        ArgumentNullException.ThrowIfNull(encryption);
        if (!encryption.HasAuxiliaryInformation) return;
        var entries = encryption.Entries;
        int saizSize = SaizSize(encryption, out int defaultSize);
        writer.WriteFullBoxHeader(saizSize, Saiz, 0, 0);
        writer.WriteUInt8((byte)defaultSize);
        writer.WriteUInt32((uint)entries.Length);
        if (defaultSize == 0)
            foreach (ref readonly var entry in entries) writer.WriteUInt8((byte)encryption.InfoSize(entry));

        writer.WriteFullBoxHeader(SaioSize, Saio, 0, 0);
        writer.WriteUInt32(1); // entry_count: one run, the whole senc
        writer.WriteUInt32((uint)checked(offsetInMoof + saizSize + SaioSize + SencHeaderSize));

        writer.WriteFullBoxHeader(SencHeaderSize + InfoBytes(encryption), Senc, 0, encryption.UsesSubsamples ? UseSubsampleEncryption : 0);
        writer.WriteUInt32((uint)entries.Length);
        Span<byte> iv = stackalloc byte[16];
        var subsamples = encryption.Subsamples;
        foreach (ref readonly var entry in entries)
        {
            if (encryption.PerSampleIvSize > 0)
            {
                entry.Iv.CopyTo(iv);
                writer.WriteBytes(iv[..encryption.PerSampleIvSize]);
            }
            if (!encryption.UsesSubsamples) continue;
            writer.WriteUInt16((ushort)entry.SubsampleCount);
            foreach (var subsample in subsamples.Slice(entry.FirstSubsample, entry.SubsampleCount))
            {
                writer.WriteUInt16(subsample.ClearBytes);
                writer.WriteUInt32(subsample.ProtectedBytes);
            }
        }
    }

    private static int InfoBytes(FragmentEncryption encryption)
    {
        int total = 0;
        foreach (ref readonly var entry in encryption.Entries) total = checked(total + encryption.InfoSize(entry));
        return total;
    }

    /// <summary>saiz's size; <paramref name="defaultSize"/> is the size every sample shares, or 0 when they differ.</summary>
    private static int SaizSize(FragmentEncryption encryption, out int defaultSize)
    {
        var entries = encryption.Entries;
        defaultSize = entries.IsEmpty ? 0 : encryption.InfoSize(entries[0]);
        foreach (ref readonly var entry in entries)
        {
            int size = encryption.InfoSize(entry);
            if (size > byte.MaxValue) throw new ArgumentException("A sample has more subsamples than saiz can size (8 bits).", nameof(encryption));
            if (size != defaultSize) defaultSize = 0;
        }
        return 17 + (defaultSize == 0 ? entries.Length : 0);
    }
}
