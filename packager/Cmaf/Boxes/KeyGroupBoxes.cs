using Broadcast.Packager.Cmaf.Encryption;

namespace Broadcast.Packager.Cmaf.Boxes;

/// <summary>
/// What a fragment under a rotated key says of its samples (ISO/IEC 23001-7 §6, CencSampleEncryptionInformationGroupEntry):
/// the KID they are encrypted under, which is not the init segment's tenc default_KID, and with it the rest of what tenc
/// says (the pattern, the IV size, the constant IV), since a group entry replaces all of tenc's defaults for its samples.
/// </summary>
public sealed record KeyGroup(KeyId KeyId, int PerSampleIvSize, int CryptBlocks, int SkipBlocks, InitializationVector? ConstantIv)
{
    /// <summary>The entry's bytes: reserved, pattern, isProtected, Per_Sample_IV_Size, KID, and for a constant IV its size
    /// and bytes (§6: present when isProtected is 1 and Per_Sample_IV_Size is 0).</summary>
    public int EntrySize => 20 + (PerSampleIvSize == 0 ? 1 + ConstantIv!.Value.Size : 0);
}

/// <summary>
/// A traf's sample-to-group (sbgp, ISO/IEC 14496-12 §8.9.2) and sample group description (sgpd, §8.9.3) of grouping type
/// 'seig': every sample of the fragment in one group, described by the traf's own sgpd, so a player decrypts them with the
/// group's KID (ISO/IEC 23001-7 §6; how a key is rotated without a new init segment, CMAF §8.2.3). A group description
/// index above 0x10000 names an entry of the sgpd in the same traf (§8.9.4), so 0x10001 is its first.
/// </summary>
public static class KeyGroupBoxes
{
    public const uint Sbgp = 0x73626770; // 'sbgp'
    public const uint Sgpd = 0x73677064; // 'sgpd'
    public const uint Seig = 0x73656967; // 'seig'

    /// <summary>The group description index of the first entry of the traf's own sgpd (§8.9.4).</summary>
    public const uint FragmentLocalFirst = 0x10001;

    private const int SbgpSize = 28; // full box header, grouping_type, entry_count, one (sample_count, index)
    private const int SgpdHeaderSize = 24; // full box header, grouping_type, default_length (version 1), entry_count

    /// <summary>The bytes sbgp and sgpd take together.</summary>
    public static int Size(KeyGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        return SbgpSize + SgpdHeaderSize + group.EntrySize;
    }

    /// <summary>Writes sbgp (version 0) putting all <paramref name="sampleCount"/> samples in the group, then sgpd (version 1,
    /// a default_length, as §8.9.3 asks of a version-1 box with fixed-size entries) with the group's one entry.</summary>
    public static void WriteTo(ref BoxSpanWriter writer, KeyGroup group, int sampleCount)
    {
        ArgumentNullException.ThrowIfNull(group);
        if (sampleCount <= 0) throw new ArgumentOutOfRangeException(nameof(sampleCount), sampleCount, "A fragment has samples.");
        writer.WriteFullBoxHeader(SbgpSize, Sbgp, 0, 0);
        writer.WriteUInt32(Seig);
        writer.WriteUInt32(1);
        writer.WriteUInt32((uint)sampleCount);
        writer.WriteUInt32(FragmentLocalFirst);

        int entrySize = group.EntrySize;
        writer.WriteFullBoxHeader(SgpdHeaderSize + entrySize, Sgpd, 1, 0);
        writer.WriteUInt32(Seig);
        writer.WriteUInt32((uint)entrySize);
        writer.WriteUInt32(1);
        writer.WriteUInt8(0); // reserved
        writer.WriteUInt8((byte)((group.CryptBlocks << 4) | group.SkipBlocks));
        writer.WriteUInt8(1); // isProtected
        writer.WriteUInt8((byte)group.PerSampleIvSize);
        Span<byte> bytes = stackalloc byte[16];
        group.KeyId.CopyTo(bytes);
        writer.WriteBytes(bytes);
        if (group.PerSampleIvSize == 0)
        {
            var iv = group.ConstantIv!.Value;
            writer.WriteUInt8((byte)iv.Size);
            iv.CopyTo(bytes);
            writer.WriteBytes(bytes[..iv.Size]);
        }
    }
}
