using Broadcast.TestSupport;
using System.Buffers;
using Broadcast.Media;
using Broadcast.Packager.Cmaf;

namespace Broadcast.Packager.Tests.Cmaf;

/// <summary>
/// HEVC: ffmpeg 5.1 cannot put H.265 in FLV, so the clip comes from its fragmented-MP4 muxer instead. The hvcC
/// and the samples are read back with the test box reader (tfhd defaults, tfdt, trun), rescaled to 90 kHz,
/// written as CMAF with hvc1/hvcC, and probed.
/// </summary>
public sealed class HevcRoundTripTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public void Hevc_clip_probes_back_exactly()
    {
        string source = _directory.Combine("source.mp4");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "2",
            "-c:v", "libx265", "-pix_fmt", "yuv420p",
            "-x265-params", "keyint=30:min-keyint=30:scenecut=0:bframes=2:log-level=error",
            "-tag:v", "hvc1", "-movflags", "frag_keyframe+empty_moov+default_base_moof", "-f", "mp4", source);
        var (hvcC, samples) = ReadFragmentedMp4(File.ReadAllBytes(source));
        Assert.Contains(samples, s => s.CompositionOffset != 0); // B-frames present
        Assert.Equal(2, samples.Count(s => s.IsSync));

        var track = new VideoTrack(Codec.H265, hvcC, "hvc1.1.6.L60.90", 320, 240);
        int cut = samples.FindIndex(1, s => s.IsSync);
        var output = new ArrayBufferWriter<byte>();
        CmafWriter.WriteInitSegment(output, track);
        CmafWriter.WriteMediaSegment(output, 1, 1, samples[0].Dts, samples[..cut].Select(s => s.ToCmaf()).ToArray(), MediaKind.Video);
        CmafWriter.WriteMediaSegment(output, 2, 1, samples[cut].Dts, samples[cut..].Select(s => s.ToCmaf()).ToArray(), MediaKind.Video);
        string written = _directory.Combine("cmaf.mp4");
        File.WriteAllBytes(written, output.WrittenSpan.ToArray());

        using var probe = MediaTools.Probe(written);
        var stream = ProbeAssert.SingleStream(probe);
        Assert.Equal("hevc", stream.GetProperty("codec_name").GetString());
        Assert.Equal("Main", stream.GetProperty("profile").GetString());
        Assert.Equal(320, stream.GetProperty("width").GetInt32());
        Assert.Equal(240, stream.GetProperty("height").GetInt32());
        Assert.Equal("hvc1", stream.GetProperty("codec_tag_string").GetString());
        ProbeAssert.Packets(probe, samples);
    }

    /// <summary>hvcC plus every sample (at 90 kHz) of a single-track fragmented MP4 with default-base-is-moof.</summary>
    private static (byte[] HvcC, List<ExpectedSample> Samples) ReadFragmentedMp4(byte[] file)
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

    public void Dispose() => _directory.Dispose();
}
