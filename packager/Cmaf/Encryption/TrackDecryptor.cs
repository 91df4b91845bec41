using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Broadcast.Packager.Cmaf.Boxes;
using static Broadcast.Packager.Cmaf.CmafReader;

namespace Broadcast.Packager.Cmaf.Encryption;

/// <summary>
/// The inverse of <see cref="TrackEncryptor"/>: one protected track's media segments decrypted under its content keys, for
/// a reader that has no key system (ffmpeg cutting a clip's ends). Each traf's senc (ISO/IEC 23001-7 §7.2) gives every
/// sample's IV and subsamples, checked against saiz (ISO/IEC 14496-12 §8.7.8: each sample's auxiliary information size)
/// and saio (§8.7.9: where that information starts, from the moof); the init segment's tenc (read by
/// <see cref="ProtectedInit.Read"/>) gives the scheme and the defaults: the KID, the IV size, the pattern and the constant
/// IV. A traf's 'seig' sample group (§6, read by <see cref="FragmentKeys"/>: key rotation) gives its samples others,
/// their KID first, whose key the lookup the decryptor was made with answers. 'cenc' is AES-CTR (§10.1), 'cbcs' AES-CBC
/// with the pattern (§10.4); a 'cbcs' fragment with a constant IV and whole-sample encryption (audio) carries no senc.
/// <para>
/// Damaged input (a senc that runs past its box, counts that disagree with the trun, saiz or saio, subsamples that do not
/// cover their sample, a sample group that names nothing) is <see cref="InvalidDataException"/> saying what was wrong,
/// never another exception; so is a KID the lookup has no key for.
/// </para>
/// </summary>
public sealed class TrackDecryptor : IDisposable
{
    private readonly Func<KeyId, ContentKey?> _keys;
    private readonly Dictionary<KeyId, AesBlocks> _aes = [];
    private readonly TrackProtection _protection;
    private readonly SampleEncryptionGroupEntry _defaults;

    /// <summary>One sample's auxiliary information and what it is encrypted under.</summary>
    private readonly record struct Entry(InitializationVector Iv, Subsample[] Subsamples, SampleEncryptionGroupEntry Keying);

    /// <summary>A track of one key: <paramref name="key"/> must be the one its tenc names; a fragment under another is refused.</summary>
    public TrackDecryptor(ContentKey key, TrackProtection protection)
        : this(id => id == key.Id ? key : null, protection)
    {
        if (key.Id != protection.KeyId)
            throw new ArgumentException($"The key {key.Id} is not the track's {protection.KeyId}.", nameof(key));
    }

    /// <summary>
    /// A track whose fragments may be under several keys (key rotation): <paramref name="keys"/> answers a KID with its
    /// key, or null when it has none (the sample is then refused, naming the KID). Asked once per KID met.
    /// </summary>
    public TrackDecryptor(Func<KeyId, ContentKey?> keys, TrackProtection protection)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(protection);
        if (protection.Scheme is not (EncryptionScheme.Cenc or EncryptionScheme.Cbcs))
            throw new ArgumentException($"A track decryptor reads Common Encryption ('cenc' or 'cbcs'), not {protection.Scheme}.", nameof(protection));
        _keys = keys;
        _protection = protection;
        _defaults = SampleEncryptionGroupEntry.Of(protection);
    }

    /// <summary>
    /// A copy of <paramref name="segment"/> (of the track <paramref name="track"/> heads) with every sample decrypted in
    /// place and the traf's saiz, saio, senc and 'seig' sbgp and sgpd, and the moof's pssh, turned into free boxes of the
    /// same size, so no box moves and a reader of the clear init (<see cref="ProtectedInit.Clear"/>) finds nothing encrypted.
    /// </summary>
    public byte[] Decrypt(ReadOnlyMemory<byte> segment, CmafTrackHeader track)
    {
        ArgumentNullException.ThrowIfNull(track);
        var copy = segment.ToArray();
        var samples = ReadSamples(copy, track);
        var entries = new List<Entry>(samples.Count);
        var freed = new List<int>();
        for (int at = 0; at < copy.Length;)
        {
            var box = BoxAt(copy, at, copy.Length);
            at = box.End;
            if (box.Type != FourCC.Moof) continue;
            for (int t = box.Body; t < box.End;)
            {
                var child = BoxAt(copy, t, box.End);
                t = child.End;
                if (child.Type == FourCC.Traf) ReadTraf(copy, box, child, entries, freed);
                else if (child.Type == TrackProtection.Pssh) freed.Add(child.Start);
            }
        }
        if (entries.Count != samples.Count)
            throw new InvalidDataException($"the senc boxes describe {entries.Count} samples, the segment has {samples.Count}");
        for (int i = 0; i < samples.Count; i++)
        {
            var (iv, subsamples, keying) = entries[i];
            if (!keying.IsProtected) continue; // §6: a group of clear samples
            if (!MemoryMarshal.TryGetArray(samples[i].Data, out var slice) || slice.Array != copy)
                throw new InvalidOperationException("a sample read is not a slice of the segment's copy");
            var data = copy.AsSpan(slice.Offset, slice.Count);
            var aes = AesFor(keying.KeyId, i);
            try
            {
                if (_protection.Scheme == EncryptionScheme.Cenc) SampleCipher.TransformCtr(aes, iv, data, subsamples);
                else SampleCipher.DecryptCbcPattern(aes, iv, data, subsamples, keying.CryptBlocks, keying.SkipBlocks);
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"sample {i}: {e.Message}", e);
            }
        }
        foreach (int start in freed) BinaryPrimitives.WriteUInt32BigEndian(copy.AsSpan(start + 4), Free);
        return copy;
    }

    private AesBlocks AesFor(KeyId kid, int sample)
    {
        if (_aes.TryGetValue(kid, out var kept)) return kept;
        var key = _keys(kid) ?? throw new InvalidDataException($"sample {sample} is encrypted under the KID {kid}, which there is no key for");
        if (key.Id != kid) throw new InvalidOperationException($"the key lookup answered the KID {kid} with the key of {key.Id}");
        Span<byte> raw = stackalloc byte[16];
        key.CopyKeyTo(raw);
        var aes = new AesBlocks(raw);
        CryptographicOperations.ZeroMemory(raw);
        _aes[kid] = aes;
        return aes;
    }

    private void ReadTraf(ReadOnlySpan<byte> data, Box moof, Box traf, List<Entry> entries, List<int> freed)
    {
        long sampleCount = FragmentKeys.SamplesIn(data, traf);
        var runs = FragmentKeys.ReadGroups(data, traf, sampleCount, freed);
        var senc = Child(data, traf.Body, traf.End, SampleEncryptionBoxes.Senc);
        var saiz = Child(data, traf.Body, traf.End, SampleEncryptionBoxes.Saiz);
        var saio = Child(data, traf.Body, traf.End, SampleEncryptionBoxes.Saio);
        if (senc is not { } s)
        {
            // §7.2: with a constant IV and no subsamples a sample has no auxiliary information; anything else needs it.
            if (runs.Any(r => r.SampleCount > 0 && (r.Group ?? _defaults).PerSampleIvSize != 0))
                throw new InvalidDataException("a fragment of samples with per-sample IVs has no senc");
            if (saiz is not null || saio is not null) throw new InvalidDataException("a fragment has saiz or saio but no senc");
            foreach (var (runCount, group) in runs)
            {
                var keying = group ?? _defaults;
                for (long i = 0; i < runCount; i++) entries.Add(new Entry(keying.ConstantIv ?? default, [], keying));
            }
            return;
        }
        uint flags = U32(data, s.Body, s.End) & 0xFFFFFF;
        bool subsamples = (flags & SampleEncryptionBoxes.UseSubsampleEncryption) != 0;
        uint count = U32(data, s.Body + 4, s.End);
        if (count != sampleCount) throw new InvalidDataException($"a senc describes {count} samples, its traf's truns {sampleCount}");
        int first = s.Body + 8, at = first;
        var sizes = new List<int>((int)Math.Min(count, (uint)(s.End - at)));
        foreach (var (runCount, group) in runs)
        {
            var keying = group ?? _defaults;
            int ivSize = keying.PerSampleIvSize;
            for (long r = 0; r < runCount; r++)
            {
                int start = at;
                var iv = keying.ConstantIv ?? default;
                if (ivSize > 0)
                {
                    iv = InitializationVector.FromBytes(Slice(data, at, ivSize, s.End));
                    at += ivSize;
                }
                Subsample[] table = [];
                if (subsamples)
                {
                    int n = BinaryPrimitives.ReadUInt16BigEndian(Slice(data, at, 2, s.End));
                    at += 2;
                    if (n > (s.End - at) / 6) throw new InvalidDataException($"a senc entry names {n} subsamples, more than its box holds");
                    table = new Subsample[n];
                    for (int k = 0; k < n; k++, at += 6)
                        table[k] = new Subsample(BinaryPrimitives.ReadUInt16BigEndian(Slice(data, at, 2, s.End)), U32(data, at + 2, s.End));
                }
                entries.Add(new Entry(iv, table, keying));
                sizes.Add(at - start);
            }
        }
        if (at != s.End) throw new InvalidDataException($"a senc has {s.End - at} bytes after its {count} entries");
        if (saiz is { } z) CheckSaiz(data, z, sizes);
        if (saio is { } o)
        {
            // One run, from the moof's first byte (default-base-is-moof, what the packager writes) to the senc's first entry.
            uint version = Version(data, o);
            int runsAt = o.Body + 4 + ((U32(data, o.Body, o.End) & 1) != 0 ? 8 : 0); // after aux_info_type and its parameter, when flagged
            if (U32(data, runsAt, o.End) != 1) throw new InvalidDataException("a saio names other than one run of auxiliary information");
            long offset = version == 0 ? U32(data, runsAt + 4, o.End) : (long)BinaryPrimitives.ReadUInt64BigEndian(Slice(data, runsAt + 4, 8, o.End));
            if (moof.Start + offset != first) throw new InvalidDataException("the saio's offset is not where the senc's entries start");
        }
        foreach (var box in new[] { senc, saiz, saio })
            if (box is { } b) freed.Add(b.Start);
    }

    private static void CheckSaiz(ReadOnlySpan<byte> data, Box saiz, List<int> sizes)
    {
        uint flags = U32(data, saiz.Body, saiz.End) & 0xFFFFFF;
        int at = saiz.Body + 4 + ((flags & 1) != 0 ? 8 : 0); // aux_info_type and its parameter, when flagged
        int defaultSize = Slice(data, at, 1, saiz.End)[0];
        uint count = U32(data, at + 1, saiz.End);
        if (count != sizes.Count) throw new InvalidDataException($"a saiz sizes {count} samples, the senc describes {sizes.Count}");
        at += 5;
        for (int i = 0; i < sizes.Count; i++)
        {
            int size = defaultSize != 0 ? defaultSize : Slice(data, at + i, 1, saiz.End)[0];
            if (size != sizes[i]) throw new InvalidDataException($"sample {i}'s auxiliary information is {sizes[i]} bytes in senc, {size} in saiz");
        }
    }

    public void Dispose()
    {
        foreach (var aes in _aes.Values) aes.Dispose();
        _aes.Clear();
    }

    public override string ToString() => $"TrackDecryptor {_protection.Scheme} {_protection.KeyId}";
}
