using System.Buffers.Binary;
using Broadcast.Packager.Cmaf.Boxes;

namespace Broadcast.Packager.Cmaf;

/// <summary>What a single-track init segment says about its track's samples (ISO/IEC 14496-12 §8.3.2 tkhd, §8.4.2 mdhd, §8.8.3 trex).</summary>
/// <param name="TimescaleAt">Where in the init segment mdhd's 32-bit timescale field is, so it can be rewritten in place.</param>
public sealed record CmafTrackHeader(uint TrackId, uint Timescale, int TimescaleAt, uint DefaultDuration, uint DefaultSize, uint DefaultFlags);

/// <summary>One sample read back from a fragment: its decode time (tfdt plus the durations before it), timing and payload.</summary>
public readonly record struct CmafReadSample(long DecodeTime, uint Duration, int CompositionOffset, bool IsSync, ReadOnlyMemory<byte> Data)
{
    /// <summary>ISO/IEC 14496-12 §8.6.1.3: decode time + composition offset (no edit list applies to what this reads).</summary>
    public long PresentationTime => DecodeTime + CompositionOffset;
}

/// <summary>
/// Reads single-track fragmented MP4 back: an init segment's track header and a media segment's samples (every
/// moof/traf/trun of it, as the packager writes a segment of LL parts or as ffmpeg writes one). For a clip's pieces
/// (one read per cut, never per viewer), so it favours plain code over avoiding allocations.
/// <para>
/// Its contract for damaged input (a box past its parent's end, a missing box, a second track, a sample outside the
/// segment's mdat, a count larger than the bytes behind it): <see cref="InvalidDataException"/> with what was wrong,
/// never another exception. What it allocates follows the bytes it was given: every sample it returns is at least one
/// byte of an mdat and the samples together take no more bytes than the segment has, so a count read from the input
/// is checked against those bytes before any sample is read.
/// </para>
/// </summary>
public static class CmafReader
{
    private const uint Edts = 0x65647473; // 'edts'
    internal const uint Free = 0x66726565; // 'free'
    private const uint NonSyncSample = 1u << 16; // sample_is_non_sync_sample (§8.8.3.1)

    /// <summary>
    /// The latest decode time read: 2^62 ticks is 1.6 million years at 90 kHz, and below it a segment's durations
    /// (each under 2^32, fewer than 2^31 samples) cannot overflow a decode or presentation time.
    /// </summary>
    private const long MaxDecodeTime = 1L << 62;

    /// <summary>The first track's header in an init segment (ftyp, moov).</summary>
    public static CmafTrackHeader ReadInit(ReadOnlySpan<byte> init)
    {
        var moov = Child(init, 0, init.Length, FourCC.Moov) ?? throw new InvalidDataException("the init segment has no moov");
        var trak = Child(init, moov.Body, moov.End, FourCC.Trak) ?? throw new InvalidDataException("the init segment has no trak");
        if (Child(init, trak.End, moov.End, FourCC.Trak) is not null)
            throw new InvalidDataException("the init segment has more than one trak; a single-track one is read");
        var tkhd = Child(init, trak.Body, trak.End, FourCC.Tkhd) ?? throw new InvalidDataException("the track has no tkhd");
        uint trackId = U32(init, tkhd.Body + (Version(init, tkhd) == 1 ? 20 : 12), tkhd.End);
        var mdia = Child(init, trak.Body, trak.End, FourCC.Mdia) ?? throw new InvalidDataException("the track has no mdia");
        var mdhd = Child(init, mdia.Body, mdia.End, FourCC.Mdhd) ?? throw new InvalidDataException("the track has no mdhd");
        int timescaleAt = mdhd.Body + (Version(init, mdhd) == 1 ? 20 : 12);
        uint timescale = U32(init, timescaleAt, mdhd.End);
        if (timescale == 0) throw new InvalidDataException("the track's timescale is 0");
        uint duration = 0, size = 0, flags = 0;
        // The trex of this track (§8.8.3: one per track in mvex); without one its samples have no defaults.
        if (Child(init, moov.Body, moov.End, FourCC.Mvex) is { } mvex)
        {
            for (int at = mvex.Body; at < mvex.End;)
            {
                var trex = BoxAt(init, at, mvex.End);
                at = trex.End;
                if (trex.Type != FourCC.Trex || U32(init, trex.Body + 4, trex.End) != trackId) continue;
                duration = U32(init, trex.Body + 12, trex.End);
                size = U32(init, trex.Body + 16, trex.End);
                flags = U32(init, trex.Body + 20, trex.End);
                break;
            }
        }
        return new CmafTrackHeader(trackId, timescale, timescaleAt, duration, size, flags);
    }

    /// <summary>
    /// A copy of <paramref name="init"/> that gives its track <paramref name="timescale"/> and has no edit list (its edts
    /// box becomes a free box of the same size, §8.1.2): the samples it heads are written on another timeline whose
    /// presentation times stand as they are, as the packager's own init segments have none.
    /// </summary>
    public static byte[] WithTimescale(ReadOnlySpan<byte> init, uint timescale)
    {
        var header = ReadInit(init);
        var copy = init.ToArray();
        BinaryPrimitives.WriteUInt32BigEndian(copy.AsSpan(header.TimescaleAt), timescale);
        var moov = Child(init, 0, init.Length, FourCC.Moov)!.Value;
        var trak = Child(init, moov.Body, moov.End, FourCC.Trak)!.Value;
        if (Child(init, trak.Body, trak.End, Edts) is { } edts) BinaryPrimitives.WriteUInt32BigEndian(copy.AsSpan(edts.Start + 4), Free);
        return copy;
    }

    /// <summary>Every sample of <paramref name="segment"/> in decode order, for the track <paramref name="track"/> heads.</summary>
    public static IReadOnlyList<CmafReadSample> ReadSamples(ReadOnlyMemory<byte> segment, CmafTrackHeader track)
    {
        ArgumentNullException.ThrowIfNull(track);
        var data = segment.Span;
        // Where sample data may lie (§8.1.1: in an mdat), found first: a moof names bytes of the mdat after it.
        var mdats = new List<Box>();
        for (int at = 0; at < data.Length;)
        {
            var box = BoxAt(data, at, data.Length);
            if (box.Type == FourCC.Mdat) mdats.Add(box);
            at = box.End;
        }
        var read = new SampleBytes(segment.Length, mdats);
        var samples = new List<CmafReadSample>();
        for (int at = 0; at < data.Length;)
        {
            var box = BoxAt(data, at, data.Length);
            if (box.Type == FourCC.Moof) ReadFragment(segment, box, track, samples, read);
            at = box.End;
        }
        return samples;
    }

    /// <summary>
    /// The bytes the samples read so far take: each at least one byte within one mdat, together no more than the segment
    /// has (a valid segment's samples do not overlap), so the samples read are never more than the segment's bytes.
    /// </summary>
    private sealed class SampleBytes(int segmentLength, List<Box> mdats)
    {
        private long _claimed;
        private int _mdat;

        /// <summary>How many more samples the segment can hold.</summary>
        public long Left => segmentLength - _claimed;

        public void Claim(long at, uint size)
        {
            if (size == 0) throw new InvalidDataException("a sample has no bytes");
            if (size > Left) throw new InvalidDataException("the samples take more bytes than the segment holds");
            if (mdats.Count == 0) throw new InvalidDataException("the segment has no mdat");
            // Samples run on through one mdat: the one the last sample was in is tried first.
            if (!Within(mdats[_mdat], at, size))
            {
                _mdat = mdats.FindIndex(m => Within(m, at, size));
                if (_mdat < 0) throw new InvalidDataException($"a sample at byte {at} ({size} bytes) lies outside the segment's mdat");
            }
            _claimed += size;
        }

        private static bool Within(Box mdat, long at, uint size) => at >= mdat.Body && at + size <= mdat.End;
    }

    private static void ReadFragment(ReadOnlyMemory<byte> segment, Box moof, CmafTrackHeader track, List<CmafReadSample> samples, SampleBytes read)
    {
        var data = segment.Span;
        for (int at = moof.Body; at < moof.End;)
        {
            var traf = BoxAt(data, at, moof.End);
            at = traf.End;
            if (traf.Type != FourCC.Traf) continue;
            var tfhd = Child(data, traf.Body, traf.End, FourCC.Tfhd) ?? throw new InvalidDataException("a traf has no tfhd");
            uint tfhdFlags = U32(data, tfhd.Body, tfhd.End) & 0xFFFFFF;
            uint trackId = U32(data, tfhd.Body + 4, tfhd.End);
            if (trackId != track.TrackId)
                throw new InvalidDataException($"a traf is of track {trackId}, not of the init segment's track {track.TrackId}");
            int field = tfhd.Body + 8;
            long dataBase = moof.Start;
            if ((tfhdFlags & 0x01) != 0)
            {
                ulong baseOffset = BinaryPrimitives.ReadUInt64BigEndian(Slice(data, field, 8, tfhd.End));
                if (baseOffset > (ulong)segment.Length) throw new InvalidDataException("a traf's base data offset is past the segment's end");
                dataBase = (long)baseOffset;
                field += 8;
            }
            if ((tfhdFlags & 0x02) != 0) field += 4;
            uint defaultDuration = track.DefaultDuration, defaultSize = track.DefaultSize, defaultFlags = track.DefaultFlags;
            if ((tfhdFlags & 0x08) != 0) { defaultDuration = U32(data, field, tfhd.End); field += 4; }
            if ((tfhdFlags & 0x10) != 0) { defaultSize = U32(data, field, tfhd.End); field += 4; }
            if ((tfhdFlags & 0x20) != 0) defaultFlags = U32(data, field, tfhd.End);

            var tfdt = Child(data, traf.Body, traf.End, FourCC.Tfdt) ?? throw new InvalidDataException("a traf has no tfdt");
            ulong start = Version(data, tfdt) == 1
                ? BinaryPrimitives.ReadUInt64BigEndian(Slice(data, tfdt.Body + 4, 8, tfdt.End))
                : U32(data, tfdt.Body + 4, tfdt.End);
            if (start > MaxDecodeTime) throw new InvalidDataException($"a tfdt's decode time {start} is out of range");
            long time = (long)start;
            long next = dataBase;
            for (int r = traf.Body; r < traf.End;)
            {
                var trun = BoxAt(data, r, traf.End);
                r = trun.End;
                if (trun.Type != FourCC.Trun) continue;
                bool signed = Version(data, trun) == 1;
                uint flags = U32(data, trun.Body, trun.End) & 0xFFFFFF;
                uint count = U32(data, trun.Body + 4, trun.End);
                int p = trun.Body + 8;
                // data_offset is signed (§8.8.8.2); the base is within the segment, so the sum cannot overflow.
                if ((flags & 0x001) != 0) { next = dataBase + unchecked((int)U32(data, p, trun.End)); p += 4; }
                uint? firstFlags = null;
                if ((flags & 0x004) != 0) { firstFlags = U32(data, p, trun.End); p += 4; }
                int perSample = 4 * BitCount(flags & 0xF00);
                // Checked before any sample is read: each sample takes its fields in the trun and a byte of an mdat.
                if (perSample > 0 && count > (trun.End - p) / perSample) throw new InvalidDataException("a trun names more samples than it holds");
                if (count > read.Left) throw new InvalidDataException($"a trun names {count} samples, more than the segment has bytes left");
                for (uint i = 0; i < count; i++)
                {
                    uint duration = defaultDuration, size = defaultSize, sampleFlags = i == 0 && firstFlags is { } f ? f : defaultFlags;
                    int offset = 0;
                    if ((flags & 0x100) != 0) { duration = U32(data, p, trun.End); p += 4; }
                    if ((flags & 0x200) != 0) { size = U32(data, p, trun.End); p += 4; }
                    if ((flags & 0x400) != 0) { sampleFlags = U32(data, p, trun.End); p += 4; }
                    if ((flags & 0x800) != 0)
                    {
                        uint raw = U32(data, p, trun.End);
                        offset = signed ? unchecked((int)raw)
                            : raw <= int.MaxValue ? (int)raw : throw new InvalidDataException("a composition offset is out of range");
                        p += 4;
                    }
                    if (next < 0 || next + size > segment.Length) throw new InvalidDataException($"a sample at byte {next} lies outside the segment");
                    read.Claim(next, size);
                    samples.Add(new CmafReadSample(time, duration, offset, (sampleFlags & NonSyncSample) == 0,
                        segment.Slice((int)next, (int)size)));
                    time += duration;
                    if (time > MaxDecodeTime) throw new InvalidDataException("a fragment's decode times run out of range");
                    next += size;
                }
            }
        }
    }

    private static int BitCount(uint value) => System.Numerics.BitOperations.PopCount(value);

    /// <summary>A box read in place: its type, where it starts, where its body starts, where it ends.</summary>
    internal readonly record struct Box(uint Type, int Start, int Body, int End);

    /// <summary>The first child of type <paramref name="type"/> among the boxes in [start, end), or null.</summary>
    internal static Box? Child(ReadOnlySpan<byte> data, int start, int end, uint type)
    {
        for (int at = start; at < end;)
        {
            var box = BoxAt(data, at, end);
            if (box.Type == type) return box;
            at = box.End;
        }
        return null;
    }

    /// <summary>The box at <paramref name="at"/> (§4.2: 32-bit size, 1 = 64-bit largesize follows, 0 = to the end).</summary>
    internal static Box BoxAt(ReadOnlySpan<byte> data, int at, int end)
    {
        ulong size = U32(data, at, end);
        uint type = U32(data, at + 4, end);
        int body = at + 8;
        if (size == 1)
        {
            size = BinaryPrimitives.ReadUInt64BigEndian(Slice(data, body, 8, end));
            body += 8;
        }
        else if (size == 0)
        {
            size = (ulong)(end - at);
        }
        if (size < (ulong)(body - at) || size > (ulong)(end - at))
            throw new InvalidDataException($"a box at byte {at} of {size} bytes does not fit where it stands ({end - at} bytes)");
        return new Box(type, at, body, at + (int)size);
    }

    /// <summary>A full box's version (§4.2.2): the first byte of its body.</summary>
    internal static byte Version(ReadOnlySpan<byte> data, Box box) => Slice(data, box.Body, 1, box.End)[0];

    internal static uint U32(ReadOnlySpan<byte> data, int at, int end) => BinaryPrimitives.ReadUInt32BigEndian(Slice(data, at, 4, end));

    internal static ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> data, int at, int length, int end) =>
        at >= 0 && (long)at + length <= end ? data.Slice(at, length) : throw new InvalidDataException($"a box ends before byte {(long)at + length}");
}
