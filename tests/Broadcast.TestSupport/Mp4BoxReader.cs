using System.Buffers.Binary;
using System.Text;

namespace Broadcast.TestSupport;

/// <summary>One ISO BMFF box as read back from bytes (ISO/IEC 14496-12 §4.2). Test-side only.</summary>
public sealed class Mp4Box
{
    public required string Type { get; init; }

    /// <summary>Offset of the box's first byte in the buffer the reader was given.</summary>
    public required int Offset { get; init; }

    public required int Size { get; init; }

    public required int HeaderSize { get; init; }

    /// <summary>The bytes after the box header (for a FullBox this starts with version and flags).</summary>
    public required ReadOnlyMemory<byte> Payload { get; init; }

    public IReadOnlyList<Mp4Box> Children { get; init; } = [];

    public byte Version => Payload.Span[0];

    public uint Flags => (uint)(Payload.Span[1] << 16 | Payload.Span[2] << 8 | Payload.Span[3]);

    /// <summary>The first descendant at a slash-separated path of types, e.g. "trak/mdia/mdhd".</summary>
    public Mp4Box Find(string path)
    {
        var box = this;
        foreach (var part in path.Split('/'))
        {
            box = box.Children.FirstOrDefault(c => c.Type == part)
                ?? throw new InvalidDataException($"No '{part}' in '{box.Type}' (children: {string.Join(",", box.Children.Select(c => c.Type))}).");
        }
        return box;
    }

    public uint ReadUInt32(int payloadOffset) => BinaryPrimitives.ReadUInt32BigEndian(Payload.Span[payloadOffset..]);

    public ulong ReadUInt64(int payloadOffset) => BinaryPrimitives.ReadUInt64BigEndian(Payload.Span[payloadOffset..]);

    public ushort ReadUInt16(int payloadOffset) => BinaryPrimitives.ReadUInt16BigEndian(Payload.Span[payloadOffset..]);

    public override string ToString() => $"{Type} @{Offset} size {Size}";
}

public readonly record struct TrunEntry(uint Duration, uint Size, uint? Flags, int? CompositionOffset);

public sealed record TrunContents(byte Version, uint Flags, int? DataOffset, uint? FirstSampleFlags, IReadOnlyList<TrunEntry> Entries);

/// <summary>
/// A minimal box-tree reader for tests: walks containers it knows (and the fixed prefixes of stsd, dref and
/// the sample entries we write), rejects sizes that overrun their parent, and decodes trun entries.
/// </summary>
public static class Mp4BoxReader
{
    /// <summary>Bytes to skip inside a box before its children start.</summary>
    private static readonly Dictionary<string, int> ContainerPrefix = new()
    {
        ["moov"] = 0, ["trak"] = 0, ["mdia"] = 0, ["minf"] = 0, ["dinf"] = 0, ["stbl"] = 0, ["mvex"] = 0,
        ["moof"] = 0, ["traf"] = 0, ["edts"] = 0,
        ["stsd"] = 8, ["dref"] = 8,
        ["avc1"] = 78, ["avc3"] = 78, ["hvc1"] = 78, ["hev1"] = 78, ["av01"] = 78, ["mp4a"] = 28,
        // Protected sample entries (ISO/IEC 23001-7 §4: the original entry's fields, then 'sinf' among its boxes).
        ["encv"] = 78, ["enca"] = 28, ["sinf"] = 0, ["schi"] = 0,
    };

    public static IReadOnlyList<Mp4Box> Read(ReadOnlyMemory<byte> data) => Read(data, 0);

    private static List<Mp4Box> Read(ReadOnlyMemory<byte> data, int baseOffset)
    {
        var boxes = new List<Mp4Box>();
        int position = 0;
        var span = data.Span;
        while (position < data.Length)
        {
            if (data.Length - position < 8) throw new InvalidDataException($"Truncated box header at {baseOffset + position}.");
            long size = BinaryPrimitives.ReadUInt32BigEndian(span[position..]);
            string type = Encoding.ASCII.GetString(span.Slice(position + 4, 4));
            int header = 8;
            if (size == 1)
            {
                if (data.Length - position < 16) throw new InvalidDataException($"Truncated largesize at {baseOffset + position}.");
                size = (long)BinaryPrimitives.ReadUInt64BigEndian(span[(position + 8)..]);
                header = 16;
            }
            else if (size == 0)
            {
                size = data.Length - position;
            }
            if (size < header || size > data.Length - position)
                throw new InvalidDataException($"Box '{type}' at {baseOffset + position} has size {size}, {data.Length - position} bytes left.");
            var payload = data.Slice(position + header, (int)size - header);
            IReadOnlyList<Mp4Box> children = [];
            if (ContainerPrefix.TryGetValue(type, out int prefix))
            {
                if (payload.Length < prefix) throw new InvalidDataException($"Box '{type}' too short for its fixed fields.");
                children = Read(payload[prefix..], baseOffset + position + header + prefix);
            }
            boxes.Add(new Mp4Box
            {
                Type = type, Offset = baseOffset + position, Size = (int)size, HeaderSize = header, Payload = payload, Children = children,
            });
            position += (int)size;
        }
        return boxes;
    }

    /// <summary>Decodes a trun (ISO/IEC 14496-12 §8.8.8) by its flags.</summary>
    public static TrunContents ReadTrun(Mp4Box trun)
    {
        if (trun.Type != "trun") throw new ArgumentException("Not a trun.", nameof(trun));
        var p = trun.Payload.Span;
        byte version = p[0];
        uint flags = trun.Flags;
        uint count = BinaryPrimitives.ReadUInt32BigEndian(p[4..]);
        int pos = 8;
        int? dataOffset = null;
        uint? firstFlags = null;
        if ((flags & 0x1) != 0) { dataOffset = BinaryPrimitives.ReadInt32BigEndian(p[pos..]); pos += 4; }
        if ((flags & 0x4) != 0) { firstFlags = BinaryPrimitives.ReadUInt32BigEndian(p[pos..]); pos += 4; }
        var entries = new List<TrunEntry>();
        for (int i = 0; i < count; i++)
        {
            uint duration = 0, size = 0;
            uint? sampleFlags = null;
            int? cto = null;
            if ((flags & 0x100) != 0) { duration = BinaryPrimitives.ReadUInt32BigEndian(p[pos..]); pos += 4; }
            if ((flags & 0x200) != 0) { size = BinaryPrimitives.ReadUInt32BigEndian(p[pos..]); pos += 4; }
            if ((flags & 0x400) != 0) { sampleFlags = BinaryPrimitives.ReadUInt32BigEndian(p[pos..]); pos += 4; }
            if ((flags & 0x800) != 0)
            {
                cto = version == 0 ? (int)BinaryPrimitives.ReadUInt32BigEndian(p[pos..]) : BinaryPrimitives.ReadInt32BigEndian(p[pos..]);
                pos += 4;
            }
            entries.Add(new TrunEntry(duration, size, sampleFlags, cto));
        }
        if (pos != p.Length) throw new InvalidDataException($"trun has {p.Length - pos} trailing bytes.");
        return new TrunContents(version, flags, dataOffset, firstFlags, entries);
    }
}

/// <summary>The media time a CMAF segment or chunk covers: its first baseMediaDecodeTime and the sum of its sample durations.</summary>
public readonly record struct FragmentTiming(long DecodeTime, long Duration, int Samples)
{
    public long End => DecodeTime + Duration;

    /// <summary>
    /// Reads every moof of one-track CMAF media (one segment, or one chunk): tfdt (ISO/IEC 14496-12 §8.8.12) of the first,
    /// sample durations from each trun. Each following moof must start where the one before ended.
    /// </summary>
    public static FragmentTiming Read(ReadOnlyMemory<byte> media)
    {
        long? start = null;
        long end = 0;
        int samples = 0;
        foreach (var moof in Mp4BoxReader.Read(media).Where(b => b.Type == "moof"))
        {
            var traf = moof.Find("traf");
            var tfdt = traf.Find("tfdt");
            long decodeTime = tfdt.Version == 1 ? (long)tfdt.ReadUInt64(4) : tfdt.ReadUInt32(4);
            if (start is not null && decodeTime != end)
                throw new InvalidDataException($"moof at {moof.Offset} starts at {decodeTime}, the one before ended at {end}.");
            start ??= decodeTime;
            var trun = Mp4BoxReader.ReadTrun(traf.Find("trun"));
            end = decodeTime + trun.Entries.Sum(e => (long)e.Duration);
            samples += trun.Entries.Count;
        }
        if (start is null) throw new InvalidDataException("No moof.");
        return new FragmentTiming(start.Value, end - start.Value, samples);
    }
}
