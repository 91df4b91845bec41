using System.Buffers.Binary;

namespace Broadcast.TestSupport;

/// <summary>
/// Test-side: boxes put into single-track CMAF media as a key-rotating writer puts them (docs/protection.md), for fixtures
/// of rotated broadcasts: into every traf (after its trun, or at its end, since a reader must take them anywhere) and into
/// every moof after its mfhd (pssh). What names bytes after them is fixed: the moof's and traf's sizes, trun's
/// data_offset (from the moof: default-base-is-moof, as the packager and <c>SegmentEncryption</c> write) and saio's
/// offset (from the moof to senc's first entry).
/// </summary>
public static class CmafSplice
{
    /// <summary>
    /// <paramref name="media"/> with <paramref name="trafBoxes"/> (given each traf's sample count) in every traf and
    /// <paramref name="moofBoxes"/> after every mfhd.
    /// </summary>
    public static byte[] Insert(byte[] media, Func<uint, byte[]> trafBoxes, byte[]? moofBoxes = null, bool atTrafEnd = false)
    {
        ArgumentNullException.ThrowIfNull(media);
        ArgumentNullException.ThrowIfNull(trafBoxes);
        var output = new List<byte>(media.Length + 256);
        foreach (var box in Mp4BoxReader.Read(media))
        {
            if (box.Type != "moof")
            {
                output.AddRange(media.AsSpan(box.Offset, box.Size));
                continue;
            }
            var moof = new List<byte>(box.Size + 256);
            moof.AddRange(media.AsSpan(box.Offset, 8));
            foreach (var child in box.Children)
            {
                if (child.Type == "traf") moof.AddRange(Traf(media, child, trafBoxes));
                else moof.AddRange(media.AsSpan(child.Offset, child.Size));
                if (child.Type == "mfhd" && moofBoxes is not null) moof.AddRange(moofBoxes);
            }
            var bytes = moof.ToArray();
            BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)bytes.Length);
            Fix(bytes, bytes.Length - box.Size);
            output.AddRange(bytes);
        }
        return [.. output];

        List<byte> Traf(byte[] data, Mp4Box traf, Func<uint, byte[]> boxes)
        {
            uint samples = (uint)traf.Children.Where(c => c.Type == "trun").Sum(t => Mp4BoxReader.ReadTrun(t).Entries.Count);
            var inserted = boxes(samples);
            var bytes = new List<byte>(traf.Size + inserted.Length);
            bytes.AddRange(data.AsSpan(traf.Offset, 8));
            var lastTrun = traf.Children.Last(c => c.Type == "trun");
            foreach (var child in traf.Children)
            {
                bytes.AddRange(data.AsSpan(child.Offset, child.Size));
                if (!atTrafEnd && child == lastTrun) bytes.AddRange(inserted);
            }
            if (atTrafEnd) bytes.AddRange(inserted);
            var size = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(size, (uint)bytes.Count);
            for (int i = 0; i < 4; i++) bytes[i] = size[i];
            return bytes;
        }
    }

    /// <summary>In a moof grown by <paramref name="grown"/> bytes: each trun's data_offset moved by as much, each saio pointed at its senc's entries.</summary>
    private static void Fix(byte[] moof, int grown)
    {
        var box = Mp4BoxReader.Read(moof).Single();
        foreach (var traf in box.Children.Where(c => c.Type == "traf"))
        {
            foreach (var trun in traf.Children.Where(c => c.Type == "trun"))
            {
                if ((trun.Flags & 1) == 0) continue;
                int at = trun.Offset + trun.HeaderSize + 8;
                BinaryPrimitives.WriteInt32BigEndian(moof.AsSpan(at), BinaryPrimitives.ReadInt32BigEndian(moof.AsSpan(at)) + grown);
            }
            var saio = traf.Children.FirstOrDefault(c => c.Type == "saio");
            var senc = traf.Children.FirstOrDefault(c => c.Type == "senc");
            if (saio is null || senc is null) continue;
            if (saio.Version != 0 || (saio.Flags & 1) != 0) throw new NotSupportedException("a saio of version 1 or with aux_info_type");
            BinaryPrimitives.WriteUInt32BigEndian(moof.AsSpan(saio.Offset + saio.HeaderSize + 8), (uint)(senc.Offset + senc.HeaderSize + 8));
        }
    }
}
