using Broadcast.Media;
using Broadcast.TestSupport;

namespace Broadcast.Packager.Tests.Cmaf;

/// <summary>
/// An HEVC clip as ffmpeg's fragmented-MP4 muxer writes it (ffmpeg 5.1 cannot put H.265 in FLV), read back with the test
/// box reader (tfhd defaults, tfdt, trun) into the hvcC and samples at 90 kHz, the shape the packager takes.
/// </summary>
internal static class FragmentedMp4
{
    /// <summary>hvcC plus every sample (at 90 kHz) of a single-track fragmented MP4 with default-base-is-moof.</summary>
    public static (byte[] HvcC, List<ExpectedSample> Samples) ReadHevc(byte[] file)
    {
        var boxes = Mp4BoxReader.Read(file);
        var moov = boxes.Single(b => b.Type == "moov");
        byte[] hvcC = moov.Find("trak/mdia/minf/stbl/stsd/hvc1/hvcC").Payload.ToArray();
        var mdhd = moov.Find("trak/mdia/mdhd");
        int timescale = (int)mdhd.ReadUInt32(mdhd.Version == 1 ? 20 : 12);
        var trex = moov.Find("mvex/trex");

        var raw = new List<(long Dts, long Cto, bool Sync, byte[] Data)>();
        foreach (var moof in boxes.Where(b => b.Type == "moof"))
        {
            var tfhd = moof.Find("traf/tfhd");
            uint tfhdFlags = tfhd.Flags;
            Assert.True((tfhdFlags & 0x020000) != 0, "the source uses default-base-is-moof");
            int pos = 8; // version/flags + track_ID
            if ((tfhdFlags & 0x01) != 0) pos += 8;
            if ((tfhdFlags & 0x02) != 0) pos += 4;
            uint defaultDuration = trex.ReadUInt32(12), defaultSize = trex.ReadUInt32(16), defaultFlags = trex.ReadUInt32(20);
            if ((tfhdFlags & 0x08) != 0) { defaultDuration = tfhd.ReadUInt32(pos); pos += 4; }
            if ((tfhdFlags & 0x10) != 0) { defaultSize = tfhd.ReadUInt32(pos); pos += 4; }
            if ((tfhdFlags & 0x20) != 0) defaultFlags = tfhd.ReadUInt32(pos);
            var tfdt = moof.Find("traf/tfdt");
            long dts = tfdt.Version == 1 ? (long)tfdt.ReadUInt64(4) : tfdt.ReadUInt32(4);
            var trun = Mp4BoxReader.ReadTrun(moof.Find("traf/trun"));
            int offset = moof.Offset + trun.DataOffset!.Value;
            for (int i = 0; i < trun.Entries.Count; i++)
            {
                var entry = trun.Entries[i];
                uint duration = (trun.Flags & 0x100) != 0 ? entry.Duration : defaultDuration;
                uint size = (trun.Flags & 0x200) != 0 ? entry.Size : defaultSize;
                uint flags = entry.Flags ?? (i == 0 && trun.FirstSampleFlags is uint first ? first : defaultFlags);
                raw.Add((dts, entry.CompositionOffset ?? 0, (flags & 0x10000) == 0, file.AsSpan(offset, (int)size).ToArray()));
                offset += (int)size;
                dts += duration;
            }
            raw.Add((dts, 0, false, [])); // end marker: the decode time after the fragment's last sample
        }

        // Rescale to the 90 kHz CMAF video clock; durations are differences of rescaled decode times.
        var samples = new List<ExpectedSample>();
        var frames = raw.Where(r => r.Data.Length > 0).ToList();
        long end = raw[^1].Dts;
        for (int i = 0; i < frames.Count; i++)
        {
            long dts = Timescales.Rescale(frames[i].Dts, timescale, Timescales.Video);
            long next = Timescales.Rescale(i + 1 < frames.Count ? frames[i + 1].Dts : end, timescale, Timescales.Video);
            int cto = (int)Timescales.Rescale(frames[i].Cto, timescale, Timescales.Video);
            samples.Add(new ExpectedSample(dts, cto, (uint)(next - dts), frames[i].Sync, frames[i].Data));
        }
        return (hvcC, samples);
    }
}
