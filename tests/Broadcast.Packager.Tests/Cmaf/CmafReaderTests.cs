using System.Buffers.Binary;
using System.Text;
using Broadcast.Packager.Cmaf;

namespace Broadcast.Packager.Tests.Cmaf;

/// <summary>
/// <see cref="CmafReader"/> on damaged input (ISO/IEC 14496-12 §4.2 boxes, §8.8 movie fragments): a stored segment may
/// be damaged and ffmpeg's piece is another program's output, so every damage is refused with
/// <see cref="InvalidDataException"/> saying what was wrong, never an index, overflow or argument exception, and never
/// an allocation sized by a count before the bytes behind it are checked.
/// </summary>
public class CmafReaderTests
{
    private const uint TrackId = 1;
    private const uint Timescale = 90_000;

    internal static byte[] Box(string type, params byte[][] body)
    {
        int length = 8 + body.Sum(b => b.Length);
        var box = new byte[length];
        BinaryPrimitives.WriteUInt32BigEndian(box, (uint)length);
        Encoding.ASCII.GetBytes(type).CopyTo(box, 4);
        int at = 8;
        foreach (var part in body)
        {
            part.CopyTo(box, at);
            at += part.Length;
        }
        return box;
    }

    /// <summary>A full box (§4.2.2): version and 24-bit flags before the body.</summary>
    internal static byte[] Full(string type, byte version, uint flags, params byte[][] body) =>
        Box(type, [U32((uint)version << 24 | flags), .. body]);

    internal static byte[] U32(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return bytes;
    }

    internal static byte[] U64(ulong value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        return bytes;
    }

    private static byte[] Cat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    private static byte[] With(byte[] bytes, int at, uint value)
    {
        var copy = bytes.ToArray();
        BinaryPrimitives.WriteUInt32BigEndian(copy.AsSpan(at), value);
        return copy;
    }

    private static byte[] Tkhd(uint trackId) => Full("tkhd", 0, 7, U32(0), U32(0), U32(trackId), new byte[68]);

    private static byte[] Mdhd(uint timescale) => Full("mdhd", 0, 0, U32(0), U32(0), U32(timescale), U32(0), U32(0x55C40000));

    private static byte[] Trak(uint trackId = TrackId, uint timescale = Timescale, bool mdhd = true) =>
        Box("trak", Tkhd(trackId), Box("mdia", mdhd ? Mdhd(timescale) : Box("hdlr", new byte[25])));

    /// <summary>trex for <paramref name="trackId"/>: default duration 3000, size 4, flags 0 (sync).</summary>
    private static byte[] Trex(uint trackId = TrackId) => Full("trex", 0, 0, U32(trackId), U32(1), U32(3000), U32(4), U32(0));

    /// <summary>An init segment (ftyp, moov) with the track's trak and an mvex of trex boxes.</summary>
    internal static byte[] Init(params byte[][] moovChildren) =>
        Cat(Box("ftyp", U32(0x69736F36), U32(0)), Box("moov", moovChildren.Length > 0 ? moovChildren : [Trak(), Box("mvex", Trex())]));

    /// <summary>
    /// A media segment of one moof (mfhd, traf of <paramref name="traf"/>'s boxes) and an mdat of <paramref name="mdat"/>
    /// bytes; a trun's data offset is <see cref="MdatOffset"/> less the traf's extra bytes when it names the mdat's start.
    /// </summary>
    private static byte[] Segment(byte[][] traf, int mdat = 16) =>
        Cat(Box("moof", Full("mfhd", 0, 0, U32(1)), Box("traf", traf)), Box("mdat", Enumerable.Range(1, mdat).Select(i => (byte)i).ToArray()));

    private static byte[] Tfhd(uint trackId = TrackId) => Full("tfhd", 0, 0x020000, U32(trackId)); // default-base-is-moof

    private static byte[] Tfdt(ulong time = 180_000) => Full("tfdt", 1, 0, U64(time));

    /// <summary>A trun with data offset <paramref name="dataOffset"/> and per-sample sizes (flags 0x201).</summary>
    private static byte[] Trun(int dataOffset, params uint[] sizes) =>
        Full("trun", 0, 0x201, [U32((uint)sizes.Length), U32(unchecked((uint)dataOffset)), .. sizes.Select(U32)]);

    /// <summary>The data offset of the mdat's first byte from the moof's start, for a traf of tfhd, tfdt and one trun of <paramref name="samples"/> sizes.</summary>
    private static int MdatOffset(int samples, int extra = 0) => 8 + 16 + 8 + 16 + 20 + (20 + 4 * samples) + extra + 8;

    internal static byte[] ValidSegment() => Segment([Tfhd(), Tfdt(), Trun(MdatOffset(2), 6, 10)]);

    public static TheoryData<string, byte[], byte[], string> Damaged()
    {
        var init = Init();
        var valid = ValidSegment();
        return new()
        {
            // The init segment.
            { "an init segment cut short inside its moov", init[..^10], valid, "does not fit" },
            { "a moov whose size runs past the end", With(init, 16, (uint)init.Length + 100), valid, "does not fit" },
            { "a box whose size is smaller than its header", With(init, 16, 4), valid, "does not fit" },
            { "a 64-bit size past the end", Cat(Box("ftyp", U32(0)), [0, 0, 0, 1, .. "moov"u8.ToArray(), .. U64(ulong.MaxValue)]), valid, "does not fit" },
            { "a 64-bit size smaller than its header", Cat([0, 0, 0, 1, .. "moov"u8.ToArray(), .. U64(12)]), valid, "does not fit" },
            { "a header of six bytes", [0, 0, 0, 8, 0x6D, 0x6F], valid, "ends before" },
            { "no moov", Box("ftyp", U32(0)), valid, "no moov" },
            { "a moov without a trak", Init(Box("mvex", Trex())), valid, "no trak" },
            { "two tracks", Init(Trak(), Trak(2), Box("mvex", Trex(), Trex(2))), valid, "more than one trak" },
            { "a track without tkhd", Init(Box("trak", Box("mdia", Mdhd(Timescale)))), valid, "no tkhd" },
            { "a track without mdhd", Init(Trak(mdhd: false)), valid, "no mdhd" },
            { "a tkhd with an empty body", Init(Box("trak", Box("tkhd"), Box("mdia", Mdhd(Timescale)))), valid, "ends before" },
            { "an mdhd cut before its timescale", Init(Box("trak", Tkhd(1), Box("mdia", Full("mdhd", 0, 0, U32(0))))), valid, "ends before" },
            { "a timescale of 0", Init(Trak(timescale: 0)), valid, "timescale is 0" },
            { "a trex cut short", Init(Trak(), Box("mvex", Full("trex", 0, 0, U32(TrackId)))), valid, "ends before" },

            // The media segment.
            { "a segment cut short inside its mdat", init, valid[..^3], "does not fit" },
            { "a moof whose size is smaller than its header", init, With(valid, 0, 7), "does not fit" },
            { "four stray bytes after the mdat", init, Cat(valid, [0, 0, 0, 4]), "ends before" },
            { "a traf without tfhd", init, Segment([Tfdt(), Trun(MdatOffset(1) - 20, 4)]), "no tfhd" },
            { "a traf without tfdt", init, Segment([Tfhd(), Trun(MdatOffset(1) - 20, 4)]), "no tfdt" },
            { "a traf of another track", init, Segment([Tfhd(2), Tfdt(), Trun(MdatOffset(1), 4)]), "not of the init segment's track 1" },
            { "a tfhd cut before its track", init, Segment([Full("tfhd", 0, 0), Tfdt(), Trun(MdatOffset(1) - 4, 4)]), "ends before" },
            { "a tfhd whose flags name fields it does not have", init, Segment([Full("tfhd", 0, 0x3B, U32(TrackId)), Tfdt(), Trun(MdatOffset(1), 4)]), "ends before" },
            { "a tfdt of 2^64-1", init, Segment([Tfhd(), Tfdt(ulong.MaxValue), Trun(MdatOffset(1), 4)]), "out of range" },
            { "a tfdt cut short", init, Segment([Tfhd(), Full("tfdt", 1, 0, U32(5)), Trun(MdatOffset(1) - 4, 4)]), "ends before" },
            { "decode times that run past 2^62", init, Segment([Tfhd(), Tfdt(1UL << 62), Full("trun", 0, 0x301, U32(1), U32((uint)MdatOffset(2)), U32(3000), U32(4))]),
                "run out of range" },
            { "a trun naming more samples than its entries", init, Segment([Tfhd(), Tfdt(), With(Trun(MdatOffset(2), 6, 10), 12, 1000)]), "more samples than it holds" },
            { "a trun of 2^32-1 samples of the trex's defaults", init, Segment([Tfhd(), Tfdt(), Full("trun", 0, 0x001, U32(uint.MaxValue), U32((uint)MdatOffset(0)))]),
                "more than the segment has bytes left" },
            { "a trun cut before its sample count", init, Segment([Tfhd(), Tfdt(), Full("trun", 0, 0)]), "ends before" },
            { "a data offset before the segment", init, Segment([Tfhd(), Tfdt(), Trun(-1000, 4)]), "outside the segment" },
            { "a data offset into the moof, not the mdat", init, Segment([Tfhd(), Tfdt(), Trun(8, 4)]), "outside the segment's mdat" },
            { "a sample past the segment's end", init, Segment([Tfhd(), Tfdt(), Trun(MdatOffset(1), 17)]), "outside the segment" },
            { "a sample past its mdat into the next box", init, Cat(Segment([Tfhd(), Tfdt(), Trun(MdatOffset(1), 20)]), Box("free", new byte[8])),
                "outside the segment's mdat" },
            { "a sample of no bytes", init, Segment([Tfhd(), Tfdt(), Trun(MdatOffset(2), 4, 0)]), "has no bytes" },
            { "no mdat", init, Box("moof", Full("mfhd", 0, 0, U32(1)), Box("traf", Tfhd(), Tfdt(), Trun(0, 4))), "no mdat" },
            { "a base data offset of 2^64-1", init, Segment([Full("tfhd", 0, 0x01, U32(TrackId), U64(ulong.MaxValue)), Tfdt(), Trun(0, 4)]), "past the segment's end" },
            { "a sample of 2^32-1 bytes", init, Segment([Tfhd(), Tfdt(), Trun(MdatOffset(1), uint.MaxValue)]), "outside the segment" },
            { "truns that take the same bytes again and again", init,
                Segment([Tfhd(), Tfdt(), .. Enumerable.Repeat(Trun(8 + 16 + 8 + 16 + 20 + 24 * 8 + 8, 64), 8)], 64), "more bytes than the segment holds" },
            { "a version 0 composition offset above 2^31", init, Segment([Tfhd(), Tfdt(), Full("trun", 0, 0xA01, U32(1), U32((uint)MdatOffset(2)), U32(4), U32(0x80000000))]),
                "composition offset is out of range" },
        };
    }

    [Theory]
    [MemberData(nameof(Damaged))]
    public void Damaged_input_is_refused_with_what_is_wrong(string name, byte[] init, byte[] segment, string expected)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => CmafReader.ReadSamples(segment, CmafReader.ReadInit(init)));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"{name}: {e.Message}");
        Assert.True(allocated < 64 * 1024, $"{name}: {allocated} bytes allocated");
    }

    [Fact]
    public void A_valid_segment_reads_its_samples_with_the_trex_of_its_track_and_64_bit_box_sizes()
    {
        // Two tracks' trex in mvex: the samples take the defaults of the init's own track (2), not the first trex's.
        var init = Init(Trak(2), Box("mvex", Trex(1), Full("trex", 0, 0, U32(2), U32(1), U32(1024), U32(4), U32(0x10000))));
        var header = CmafReader.ReadInit(init);
        Assert.Equal((2u, Timescale, 1024u, 4u, 0x10000u), (header.TrackId, header.Timescale, header.DefaultDuration, header.DefaultSize, header.DefaultFlags));

        // The moof written with a 64-bit size (§4.2: size 1, largesize): 8 more bytes before its body.
        var moofBody = Cat(Full("mfhd", 0, 0, U32(1)), Box("traf", Tfhd(2), Tfdt(),
            Full("trun", 0, 0x205, U32(2), U32((uint)MdatOffset(2, 8 + 4)), U32(0), U32(6), U32(10))));
        var segment = Cat([0, 0, 0, 1, .. "moof"u8.ToArray(), .. U64((ulong)moofBody.Length + 16), .. moofBody],
            Box("mdat", Enumerable.Range(1, 16).Select(i => (byte)i).ToArray()));
        var samples = CmafReader.ReadSamples(segment, header);
        Assert.Equal([(180_000L, 1024u, true, 6), (181_024L, 1024u, false, 10)],
            samples.Select(s => (s.DecodeTime, s.Duration, s.IsSync, s.Data.Length)));
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6 }, samples[0].Data.ToArray());
        Assert.Equal(7, samples[1].Data.Span[0]);

        Assert.Equal(2, CmafReader.ReadSamples(ValidSegment(), CmafReader.ReadInit(Init())).Count);
    }
}
