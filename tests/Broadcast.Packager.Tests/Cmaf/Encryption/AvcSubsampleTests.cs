using Broadcast.Packager.Cmaf.Encryption;

namespace Broadcast.Packager.Tests.Cmaf.Encryption;

/// <summary>
/// AVC subsample maps on the FLV clip (x264 High, B-frames, weighted prediction): every slice header is measured
/// against ffmpeg's trace_headers, NAL and slice headers stay clear, other NAL units are wholly clear, and 'cenc' protects
/// whole blocks only.
/// </summary>
[Trait("Kind", "Component")]
public class AvcSubsampleTests(FlvClipFixture clip) : IClassFixture<FlvClipFixture>
{
    /// <summary>Where each slice header ends, in bytes, as ffmpeg's own parser reads the clip (its last field's end).</summary>
    private List<int> FfmpegSliceHeaderLengths() =>
        TraceHeaders.Read(clip.Directory.Combine("clip.flv"), "Slice Header")
            .Select(h => (h.Fields.Where(f => f.Name != "cabac_alignment_one_bit").Select(f => f.End).DefaultIfEmpty(0).Max() + 7) / 8)
            .ToList();

    private IEnumerable<(int Type, byte[] Nal)> Nals() => clip.VideoSamples.SelectMany(s => NalUnits.Of(s.Data)).Select(n => (n[0] & 0x1F, n));

    [Fact]
    public void Slice_header_lengths_match_ffmpegs_parser()
    {
        var headers = AvcSliceHeaders.FromDecoderConfig(clip.Video.DecoderConfig.Span, out int lengthSize);
        Assert.Equal(4, lengthSize);
        var ours = Nals().Where(n => n.Type is 1 or 5).Select(n => headers.HeaderLength(n.Nal)).ToList();
        var theirs = FfmpegSliceHeaderLengths();
        Assert.Equal(clip.VideoSamples.Count, ours.Count);
        Assert.Equal(theirs, ours);
        Assert.Contains(ours, l => l > 4); // P and B slices with pred weight tables and list overrides really exercised
    }

    [Theory]
    [InlineData(EncryptionScheme.Cenc)]
    [InlineData(EncryptionScheme.Cbcs)]
    public void Subsamples_leave_headers_and_non_slice_nal_units_clear(EncryptionScheme scheme)
    {
        var headers = AvcSliceHeaders.FromDecoderConfig(clip.Video.DecoderConfig.Span, out _);
        var check = AvcSliceHeaders.FromDecoderConfig(clip.Video.DecoderConfig.Span, out _);
        int protectedSamples = 0;
        foreach (var sample in clip.VideoSamples)
        {
            var (longSlices, protectedLongSlices, anyProtected) = SubsampleAssert.HeadersClear(sample.Data, headers, check, scheme);
            Assert.Equal(longSlices, protectedLongSlices);
            if (anyProtected) protectedSamples++;
        }
        Assert.Equal(clip.VideoSamples.Count, protectedSamples);
    }

    [Fact]
    public void A_clear_run_longer_than_16_bits_is_split()
    {
        var headers = AvcSliceHeaders.FromDecoderConfig(clip.Video.DecoderConfig.Span, out _);
        // One SEI NAL unit of 70000 bytes: wholly clear, more than one BytesOfClearData can say.
        var sample = new byte[4 + 70_000];
        sample[1] = 0x01; sample[2] = 0x11; sample[3] = 0x70; // 70000
        sample[4] = 6;
        var subsamples = new List<Subsample>();
        NalSubsamples.Map(sample, 4, headers, EncryptionScheme.Cenc, subsamples);
        Assert.Equal([new Subsample(65535, 0), new Subsample((ushort)(sample.Length - 65535), 0)], subsamples);
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0, 9, 0x65, 0x88 }, "runs past")]
    [InlineData(new byte[] { 0, 0 }, "inside a NAL unit length")]
    [InlineData(new byte[] { 0, 0, 0, 2, 0x65, 0xFF }, "ends inside its header")]
    [InlineData(new byte[] { 0, 0, 0, 3, 0x65, 0x80, 0x00 }, "ends inside")]
    [InlineData(new byte[] { 0, 0, 0, 7, 0x65, 0x80, 0x00, 0x00, 0x00, 0x00, 0x01 }, "longer than 31 bits")]
    public void Damaged_samples_are_refused_with_what_was_wrong(byte[] sample, string reason)
    {
        var headers = AvcSliceHeaders.FromDecoderConfig(clip.Video.DecoderConfig.Span, out _);
        var error = Assert.Throws<InvalidDataException>(() => NalSubsamples.Map(sample, 4, headers, EncryptionScheme.Cbcs, []));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_slice_naming_an_unknown_parameter_set_is_refused()
    {
        var headers = AvcSliceHeaders.FromDecoderConfig(clip.Video.DecoderConfig.Span, out _);
        // first_mb 0 (1), slice_type 7 (0001000), pps id 5 (00110): never given.
        var error = Assert.Throws<InvalidDataException>(() => headers.HeaderLength([0x65, 0x88, 0x30, 0x00]));
        Assert.Contains("parameter set 5", error.Message, StringComparison.Ordinal);
    }
}
