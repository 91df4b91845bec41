using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Tests.Cmaf.Encryption;
using Broadcast.Media.Codecs.Hevc;
using Xunit.Abstractions;

namespace Broadcast.Packager.Tests.Fuzzing;

/// <summary>
/// Fuzzes the HEVC subsample map (<see cref="NalSubsamples"/> over <see cref="HevcSliceHeaders"/>, which reads the
/// publisher's bitstream): libx265 samples with in-band parameter sets, and the constructed streams' parameter sets and
/// slices as one sample each (so mutations reach the SPS's VUI, HRD, scaling lists and reference picture sets, and every
/// slice header field), mutated; a damaged sample is refused with <see cref="InvalidDataException"/>, an accepted one gets
/// subsamples covering it exactly.
/// </summary>
[Trait("Kind", "Component")]
public class HevcCencFuzzTests(HevcClipFixture clips, ITestOutputHelper output) : IClassFixture<HevcClipFixture>
{
    /// <summary>NAL units as one sample, each after a 4-byte length.</summary>
    private static byte[] Sample(IEnumerable<byte[]> nals) =>
        [.. nals.SelectMany(n => new[] { (byte)(n.Length >> 24), (byte)(n.Length >> 16), (byte)(n.Length >> 8), (byte)n.Length }.Concat(n))];

    [Fact]
    public void Hevc_subsample_map()
    {
        var clip = clips["weighted"];
        var vps = HevcDecoderConfigurationRecord.TryRead(clip.Track.DecoderConfig.Span, out var record, out _) ? record.FindNalUnit(32)! : [];
        var seeds = clip.Samples.Where(s => s.Data.Length < 8192).Take(10).Select(s => s.Data).ToList();
        seeds.Add(Sample(HevcConstructedStream.Tiles(vps).Nals));
        seeds.Add(Sample(HevcConstructedStream.Planes(vps).Nals));
        CencFuzzTests.Check(CencFuzzTests.SubsampleMap("hevc subsamples", seeds,
            () => (HevcSliceHeaders.FromDecoderConfig(clip.Track.DecoderConfig.Span, out int lengthSize), lengthSize)), output);
    }
}
