using Broadcast.Packager.Cmaf.Boxes;
using static Broadcast.Packager.Cmaf.CmafReader;

namespace Broadcast.Packager.Cmaf.Encryption;

/// <summary>
/// A run of a traf's samples in decode order and what they are encrypted under: the entry of the 'seig' sample group
/// they belong to, or, with <see cref="Group"/> null, the init segment's tenc defaults (ISO/IEC 23001-7 §6, §8.2).
/// </summary>
public readonly record struct SampleKeyRun(long SampleCount, SampleEncryptionGroupEntry? Group);

/// <summary>One traf's keys, read: its samples' runs, and the pssh boxes its moof carries (the current and next keys' systems).</summary>
/// <param name="Fragment">Which moof of the segment (0-based) the traf is in.</param>
public sealed record TrafKeys(int Fragment, IReadOnlyList<SampleKeyRun> Runs, IReadOnlyList<ReadOnlyMemory<byte>> SystemHeaders);

/// <summary>
/// Reads which key each sample of a media segment is under, for key rotation (docs/protection.md): a traf's sbgp of
/// grouping type 'seig' (ISO/IEC 14496-12 §8.9.2) maps runs of its samples to group_description_index values, and its
/// sgpd of that type (§8.9.3) holds the CencSampleEncryptionInformationGroupEntry each names (ISO/IEC 23001-7 §6). In
/// a movie fragment an index above 0x10000 names the traf's own sgpd entry (§8.9.4); 0 names no group, so the tenc's
/// defaults; samples past the sbgp's runs are in no group (§8.9.2.3). The boxes may stand anywhere in the traf.
/// <para>
/// Read strictly (<see cref="InvalidDataException"/> saying what was wrong, as <see cref="CmafReader"/>): sbgp version 0
/// or 1, sgpd version 1 (whose entries carry their length: version 0 is deprecated, and version 2's default index would
/// put samples no sbgp names in a group); one of each per traf; runs that add up to no more than the traf's samples; an
/// index of the init segment's descriptions (1 to 0x10000; the packager writes none) or of no entry is refused. Counts
/// are checked against the bytes behind them before anything is allocated for them.
/// </para>
/// </summary>
public static class FragmentKeys
{
    /// <summary>Each traf of <paramref name="segment"/> in order (as <see cref="CmafReader.ReadSamples"/> reads them), with its moof's pssh boxes.</summary>
    public static IReadOnlyList<TrafKeys> Read(ReadOnlyMemory<byte> segment)
    {
        var data = segment.Span;
        var trafs = new List<TrafKeys>();
        int fragment = 0;
        for (int at = 0; at < data.Length;)
        {
            var moof = BoxAt(data, at, data.Length);
            at = moof.End;
            if (moof.Type != FourCC.Moof) continue;
            var systems = new List<ReadOnlyMemory<byte>>();
            for (int m = moof.Body; m < moof.End;)
            {
                var box = BoxAt(data, m, moof.End);
                m = box.End;
                if (box.Type != TrackProtection.Pssh) continue;
                ProtectionSystemHeader.Validate(data[box.Start..box.End]);
                systems.Add(segment[box.Start..box.End]);
            }
            for (int t = moof.Body; t < moof.End;)
            {
                var traf = BoxAt(data, t, moof.End);
                t = traf.End;
                if (traf.Type == FourCC.Traf) trafs.Add(new TrafKeys(fragment, ReadGroups(data, traf, SamplesIn(data, traf), null), systems));
            }
            fragment++;
        }
        return trafs;
    }

    /// <summary>
    /// What the samples of <paramref name="segment"/> are encrypted under, each once in the order first met: the seig
    /// entries its trafs name and, for samples in no group, <paramref name="protection"/>'s tenc defaults.
    /// </summary>
    public static IReadOnlyList<SampleEncryptionGroupEntry> EntriesOf(ReadOnlyMemory<byte> segment, TrackProtection protection)
    {
        var defaults = SampleEncryptionGroupEntry.Of(protection);
        var entries = new List<SampleEncryptionGroupEntry>();
        foreach (var traf in Read(segment))
            foreach (var run in traf.Runs)
                if (run.SampleCount > 0 && (run.Group ?? defaults) is var entry && !entries.Contains(entry)) entries.Add(entry);
        return entries;
    }

    /// <summary>How many samples the traf's truns name (each trun's sample_count, §8.8.8).</summary>
    internal static long SamplesIn(ReadOnlySpan<byte> data, Box traf)
    {
        long count = 0;
        for (int at = traf.Body; at < traf.End;)
        {
            var box = BoxAt(data, at, traf.End);
            at = box.End;
            if (box.Type == FourCC.Trun) count += U32(data, box.Body + 4, box.End);
        }
        return count;
    }

    /// <summary>
    /// The runs of the traf's <paramref name="sampleCount"/> samples; where its sbgp and sgpd of 'seig' start goes into
    /// <paramref name="freed"/> when given (a decryptor's clear copy has them no more).
    /// </summary>
    internal static List<SampleKeyRun> ReadGroups(ReadOnlySpan<byte> data, Box traf, long sampleCount, List<int>? freed)
    {
        Box? sbgp = null, sgpd = null;
        for (int at = traf.Body; at < traf.End;)
        {
            var box = BoxAt(data, at, traf.End);
            at = box.End;
            if (box.Type is not (SampleEncryptionGroup.Sbgp or SampleEncryptionGroup.Sgpd)) continue;
            // §8.9.2.3, §8.9.3.3: a grouping type has one sbgp (of one parameter) and one sgpd in a traf.
            if (U32(data, box.Body + 4, box.End) != SampleEncryptionGroup.Seig) continue;
            string name = FourCC.ToString(box.Type);
            if ((box.Type == SampleEncryptionGroup.Sbgp ? sbgp : sgpd) is not null) throw new InvalidDataException($"a traf has two {name} boxes of 'seig'");
            if (box.Type == SampleEncryptionGroup.Sbgp) sbgp = box;
            else sgpd = box;
        }
        var entries = sgpd is { } d ? ReadDescriptions(data, d) : [];
        var runs = sbgp is { } g ? ReadSampleToGroup(data, g, sampleCount, entries, sgpd is not null) : [new SampleKeyRun(sampleCount, null)];
        if (freed is not null)
            foreach (var box in new[] { sbgp, sgpd })
                if (box is { } b) freed.Add(b.Start);
        return runs;
    }

    private static List<SampleKeyRun> ReadSampleToGroup(ReadOnlySpan<byte> data, Box sbgp, long sampleCount, List<SampleEncryptionGroupEntry> entries,
        bool hasDescriptions)
    {
        byte version = Version(data, sbgp);
        if (version > 1) throw new InvalidDataException($"an sbgp of 'seig' is version {version}; versions 0 and 1 are read");
        int at = sbgp.Body + 8 + (version == 1 ? 4 : 0); // after version, flags, grouping_type (and grouping_type_parameter)
        uint count = U32(data, at, sbgp.End);
        at += 4;
        if (count > (sbgp.End - at) / 8) throw new InvalidDataException($"an sbgp of 'seig' names {count} entries, more than its box holds");
        if (sbgp.End - at != count * 8) throw new InvalidDataException($"an sbgp of 'seig' has {sbgp.End - at - count * 8} bytes after its {count} entries");
        var runs = new List<SampleKeyRun>((int)count + 1);
        long grouped = 0;
        for (uint i = 0; i < count; i++, at += 8)
        {
            uint samples = U32(data, at, sbgp.End), index = U32(data, at + 4, sbgp.End);
            grouped += samples;
            // §8.9.2.3: "It is an error for the total in this box to be greater than the sample_count documented elsewhere."
            if (grouped > sampleCount)
                throw new InvalidDataException($"an sbgp of 'seig' groups {grouped} samples, more than its traf's truns name ({sampleCount})");
            SampleEncryptionGroupEntry? group = null;
            if (index != 0)
            {
                if (index <= SampleEncryptionGroup.FragmentLocalIndexBase)
                    throw new InvalidDataException($"an sbgp of 'seig' names description {index} of the init segment, which is not read " +
                        "(a fragment's own are 0x10001 and up)");
                long local = index - SampleEncryptionGroup.FragmentLocalIndexBase;
                if (local > entries.Count)
                    throw new InvalidDataException(hasDescriptions
                        ? $"an sbgp of 'seig' names entry {local} of its traf's sgpd, which has {entries.Count}"
                        : $"an sbgp of 'seig' names entry {local} of its traf's sgpd, and the traf has no sgpd of 'seig'");
                group = entries[(int)local - 1];
            }
            if (runs.Count > 0 && runs[^1].Group == group) runs[^1] = runs[^1] with { SampleCount = runs[^1].SampleCount + samples };
            else runs.Add(new SampleKeyRun(samples, group));
        }
        if (grouped == sampleCount) return runs;
        if (runs.Count > 0 && runs[^1].Group is null) runs[^1] = runs[^1] with { SampleCount = runs[^1].SampleCount + sampleCount - grouped };
        else runs.Add(new SampleKeyRun(sampleCount - grouped, null));
        return runs;
    }

    private static List<SampleEncryptionGroupEntry> ReadDescriptions(ReadOnlySpan<byte> data, Box sgpd)
    {
        byte version = Version(data, sgpd);
        if (version != 1) throw new InvalidDataException($"an sgpd of 'seig' is version {version}; version 1 is read");
        int at = sgpd.Body + 8; // after version, flags, grouping_type
        uint defaultLength = U32(data, at, sgpd.End);
        uint count = U32(data, at + 4, sgpd.End);
        at += 8;
        if (count > (sgpd.End - at) / SampleEncryptionGroupEntry.FixedSize)
            throw new InvalidDataException($"an sgpd of 'seig' names {count} entries, more than its box holds");
        var entries = new List<SampleEncryptionGroupEntry>((int)count);
        for (uint i = 0; i < count; i++)
        {
            uint length = defaultLength;
            if (length == 0)
            {
                length = U32(data, at, sgpd.End); // description_length (§8.9.3.2)
                at += 4;
            }
            if (length > sgpd.End - at) throw new InvalidDataException($"an sgpd entry of {length} bytes runs past its box");
            entries.Add(ReadEntry(data.Slice(at, (int)length)));
            at += (int)length;
        }
        if (at != sgpd.End) throw new InvalidDataException($"an sgpd of 'seig' has {sgpd.End - at} bytes after its {count} entries");
        return entries;
    }

    /// <summary>One CencSampleEncryptionInformationGroupEntry (ISO/IEC 23001-7 §6), exactly <paramref name="entry"/>'s bytes.</summary>
    private static SampleEncryptionGroupEntry ReadEntry(ReadOnlySpan<byte> entry)
    {
        if (entry.Length < SampleEncryptionGroupEntry.FixedSize)
            throw new InvalidDataException($"a seig entry is {entry.Length} bytes, shorter than its {SampleEncryptionGroupEntry.FixedSize} fixed ones");
        int pattern = entry[1], isProtected = entry[2], ivSize = entry[3];
        if (isProtected > 1) throw new InvalidDataException($"a seig entry's isProtected is {isProtected}, not 0 or 1");
        if (ivSize is not (0 or 8 or 16)) throw new InvalidDataException($"a seig entry's Per_Sample_IV_Size is {ivSize}, not 0, 8 or 16");
        if (isProtected == 0 && ivSize != 0) throw new InvalidDataException($"a seig entry of unprotected samples has a Per_Sample_IV_Size of {ivSize}");
        var kid = KeyId.FromBytes(entry.Slice(4, 16));
        int size = SampleEncryptionGroupEntry.FixedSize;
        InitializationVector? constant = null;
        if (isProtected == 1 && ivSize == 0)
        {
            int ivLength = entry.Length > size ? entry[size] : throw new InvalidDataException("a seig entry with no per-sample IV has no constant IV");
            if (ivLength is not (8 or 16)) throw new InvalidDataException($"a seig entry's constant IV is {ivLength} bytes, not 8 or 16");
            if (entry.Length < size + 1 + ivLength) throw new InvalidDataException("a seig entry ends within its constant IV");
            constant = InitializationVector.FromBytes(entry.Slice(size + 1, ivLength));
            size += 1 + ivLength;
        }
        if (entry.Length != size) throw new InvalidDataException($"a seig entry is {size} bytes, its sgpd says {entry.Length}");
        return new SampleEncryptionGroupEntry(isProtected == 1, ivSize, kid, pattern >> 4, pattern & 0xF, constant);
    }
}
