using System.Buffers.Binary;
using System.Text;
using Broadcast.Packager.Cmaf.Encryption;

namespace Broadcast.Packager.Tests.Cmaf.Encryption;

/// <summary>What an encrypted init segment says (ISO/IEC 23001-7 §8; ISO/IEC 14496-12 §8.12).</summary>
internal sealed record CencTrack(string SampleEntry, string OriginalFormat, string Scheme, uint SchemeVersion, byte TencVersion,
    int CryptBlocks, int SkipBlocks, bool IsProtected, int PerSampleIvSize, KeyId KeyId, byte[]? ConstantIv, IReadOnlyList<byte[]> Pssh);

/// <summary>One sample of a fragment as senc describes it, with its bytes from the mdat.</summary>
internal sealed record CencSample(byte[] Iv, IReadOnlyList<Subsample> Subsamples, ReadOnlyMemory<byte> Data);

/// <summary>
/// The tests' own reader of Common Encryption boxes, written from the standard, apart from the packager's writer: it
/// checks the init segment's encv/enca, sinf, frma, schm, schi/tenc and pssh, and in each traf that saiz, saio and senc
/// agree with each other and with the trun (saio names senc's first entry from the moof's start, saiz the sizes of its
/// entries, the subsamples cover each sample exactly). Damaged input is an <see cref="InvalidDataException"/>, never
/// another exception.
/// </summary>
internal static class CencBoxReader
{
    private readonly record struct Box(string Type, int Start, int Body, int End);

    public static CencTrack ReadInit(ReadOnlySpan<byte> init)
    {
        var moov = Only(init, 0, init.Length, "moov");
        var stsd = Path(init, moov, "trak", "mdia", "minf", "stbl", "stsd");
        if (U32(init, stsd.Body + 4, stsd.End) != 1) throw new InvalidDataException("stsd has not one entry");
        var entry = BoxAt(init, stsd.Body + 8, stsd.End);
        int prefix = entry.Type switch
        {
            "encv" => 78,
            "enca" => 28,
            _ => throw new InvalidDataException($"the sample entry is '{entry.Type}', not encv or enca"),
        };
        if (entry.Body + prefix > entry.End) throw new InvalidDataException("the sample entry is too short");
        var sinf = Only(init, entry.Body + prefix, entry.End, "sinf");
        var frma = Only(init, sinf.Body, sinf.End, "frma");
        var schm = Only(init, sinf.Body, sinf.End, "schm");
        var tenc = Only(init, Only(init, sinf.Body, sinf.End, "schi").Body, sinf.End, "tenc");
        var t = Need(init, tenc, 24);
        byte version = t[0];
        if (version > 1) throw new InvalidDataException($"tenc version {version}");
        int ivSize = t[7];
        if (t[6] > 1) throw new InvalidDataException("default_isProtected is neither 0 nor 1");
        if (ivSize is not (0 or 8 or 16)) throw new InvalidDataException($"default_Per_Sample_IV_Size {ivSize}");
        byte[]? constant = null;
        if (t[6] == 1 && ivSize == 0)
        {
            var rest = init[(tenc.Body + 24)..tenc.End];
            if (rest.Length < 1 || rest[0] is not (8 or 16) || rest.Length != 1 + rest[0]) throw new InvalidDataException("a bad constant IV");
            constant = rest[1..].ToArray();
        }
        var pssh = new List<byte[]>();
        foreach (var box in Children(init, moov.Body, moov.End))
            if (box.Type == "pssh") pssh.Add(init[box.Start..box.End].ToArray());
        return new CencTrack(entry.Type, Type(init, frma.Body, frma.End), Type(init, schm.Body + 4, schm.End), U32(init, schm.Body + 8, schm.End),
            version, version == 1 ? t[5] >> 4 : 0, version == 1 ? t[5] & 0xF : 0, t[6] == 1, ivSize, KeyId.FromBytes(t[8..24]), constant, pssh);
    }

    /// <summary>Every sample of every moof in <paramref name="segment"/>, checked as the summary says.</summary>
    public static IReadOnlyList<CencSample> ReadSamples(ReadOnlyMemory<byte> segment, CencTrack track)
    {
        var data = segment.Span;
        var samples = new List<CencSample>();
        foreach (var moof in Children(data, 0, data.Length).Where(b => b.Type == "moof"))
        {
            var traf = Only(data, moof.Body, moof.End, "traf");
            var trun = Only(data, traf.Body, traf.End, "trun");
            uint trunFlags = U32(data, trun.Body, trun.End) & 0xFFFFFF;
            if ((trunFlags & 0x201) != 0x201) throw new InvalidDataException("the trun has no data offset or sample sizes");
            uint rawCount = U32(data, trun.Body + 4, trun.End);
            if (rawCount > int.MaxValue) throw new InvalidDataException("the trun names more samples than it holds");
            int count = (int)rawCount;
            int perSample = 4 * System.Numerics.BitOperations.PopCount(trunFlags & 0xF00);
            int fields = trun.Body + 12 + ((trunFlags & 4) != 0 ? 4 : 0);
            if (count > (trun.End - fields) / perSample) throw new InvalidDataException("the trun names more samples than it holds");
            int sizeAt = (trunFlags & 0x100) != 0 ? 4 : 0;
            long next = moof.Start + (int)U32(data, trun.Body + 8, trun.End);

            var senc = Only(data, traf.Body, traf.End, "senc");
            var saiz = Only(data, traf.Body, traf.End, "saiz");
            var saio = Only(data, traf.Body, traf.End, "saio");
            uint sencFlags = U32(data, senc.Body, senc.End) & 0xFFFFFF;
            if ((sencFlags & ~2u) != 0) throw new InvalidDataException($"senc flags 0x{sencFlags:x}");
            if (U32(data, senc.Body + 4, senc.End) != count) throw new InvalidDataException("senc's sample count is not the trun's");
            if (U32(data, saio.Body, saio.End) >> 24 != 0 || U32(data, saio.Body + 4, saio.End) != 1) throw new InvalidDataException("saio is not one 32-bit offset");
            if (moof.Start + (long)U32(data, saio.Body + 8, saio.End) != senc.Body + 8) throw new InvalidDataException("saio does not point at senc's first entry");
            int defaultSize = Need(data, saiz, 9)[4];
            if (U32(data, saiz.Body + 5, saiz.End) != count) throw new InvalidDataException("saiz's sample count is not the trun's");
            if (saiz.End - saiz.Body != 9 + (defaultSize == 0 ? count : 0)) throw new InvalidDataException("saiz's size is wrong");

            int at = senc.Body + 8;
            for (int i = 0; i < count; i++)
            {
                int start = at;
                var iv = Slice(data, at, track.PerSampleIvSize, senc.End).ToArray();
                at += track.PerSampleIvSize;
                uint size = U32(data, fields + i * perSample + sizeAt, trun.End);
                var subsamples = new List<Subsample>();
                if ((sencFlags & 2) != 0)
                {
                    int n = BinaryPrimitives.ReadUInt16BigEndian(Slice(data, at, 2, senc.End));
                    at += 2;
                    long covered = 0;
                    for (int s = 0; s < n; s++)
                    {
                        var entry = Slice(data, at, 6, senc.End);
                        var subsample = new Subsample(BinaryPrimitives.ReadUInt16BigEndian(entry), BinaryPrimitives.ReadUInt32BigEndian(entry[2..]));
                        covered += subsample.ClearBytes + (long)subsample.ProtectedBytes;
                        subsamples.Add(subsample);
                        at += 6;
                    }
                    if (covered != size) throw new InvalidDataException($"sample {i}'s subsamples cover {covered} of its {size} bytes");
                }
                int infoSize = defaultSize != 0 ? defaultSize : Slice(data, saiz.Body + 9 + i, 1, saiz.End)[0];
                if (infoSize != at - start) throw new InvalidDataException($"saiz gives sample {i} {infoSize} bytes, senc {at - start}");
                if (next < 0 || next + size > data.Length) throw new InvalidDataException("a sample lies outside the segment");
                samples.Add(new CencSample(iv, subsamples, segment.Slice((int)next, (int)size)));
                next += size;
            }
            if (at != senc.End) throw new InvalidDataException("senc has bytes after its last entry");
        }
        return samples;
    }

    private static Box Path(ReadOnlySpan<byte> data, Box from, params string[] types)
    {
        foreach (var type in types) from = Only(data, from.Body, from.End, type);
        return from;
    }

    private static Box Only(ReadOnlySpan<byte> data, int start, int end, string type)
    {
        Box? found = null;
        foreach (var box in Children(data, start, end))
        {
            if (box.Type != type) continue;
            if (found is not null) throw new InvalidDataException($"more than one '{type}'");
            found = box;
        }
        return found ?? throw new InvalidDataException($"no '{type}'");
    }

    private static List<Box> Children(ReadOnlySpan<byte> data, int start, int end)
    {
        var boxes = new List<Box>();
        for (int at = start; at < end;)
        {
            var box = BoxAt(data, at, end);
            boxes.Add(box);
            at = box.End;
        }
        return boxes;
    }

    private static Box BoxAt(ReadOnlySpan<byte> data, int at, int end)
    {
        uint size = U32(data, at, end);
        if (size < 8 || size > end - at) throw new InvalidDataException($"a box at {at} of {size} bytes does not fit ({end - at} left)");
        return new Box(Type(data, at + 4, end), at, at + 8, at + (int)size);
    }

    private static ReadOnlySpan<byte> Need(ReadOnlySpan<byte> data, Box box, int length) => Slice(data, box.Body, length, box.End);

    private static string Type(ReadOnlySpan<byte> data, int at, int end) => Encoding.Latin1.GetString(Slice(data, at, 4, end));

    private static uint U32(ReadOnlySpan<byte> data, int at, int end) => BinaryPrimitives.ReadUInt32BigEndian(Slice(data, at, 4, end));

    private static ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> data, int at, int length, int end) =>
        at >= 0 && length >= 0 && (long)at + length <= end ? data.Slice(at, length) : throw new InvalidDataException($"a box ends before byte {(long)at + length}");
}
