using Broadcast.Packager.Cmaf.Encryption;

namespace Broadcast.Packager.Tests.Cmaf.Encryption;

/// <summary>
/// HEVC slice segment headers of real libx265 streams (<see cref="HevcClipFixture"/>) measured against ffmpeg's own parser
/// (trace_headers), and their subsample maps: NAL unit and slice segment headers clear, every other NAL unit wholly clear,
/// 'cenc' protecting whole blocks only.
/// </summary>
[Trait("Kind", "Component")]
public class HevcSliceHeadersTests(HevcClipFixture clips) : IClassFixture<HevcClipFixture>
{
    /// <summary>Every slice segment NAL unit of the clip and our header length for it, parameter sets taken as they come.</summary>
    internal static List<(byte[] Nal, int Length)> OurSlices(HevcClip clip)
    {
        var headers = HevcSliceHeaders.FromDecoderConfig(clip.Track.DecoderConfig.Span, out int lengthSize);
        Assert.Equal(4, lengthSize);
        var slices = new List<(byte[], int)>();
        foreach (var nal in clip.Samples.SelectMany(s => NalUnits.Of(s.Data)))
        {
            if (headers.IsSlice(nal)) slices.Add((nal, headers.HeaderLength(nal)));
            else headers.Add(nal);
        }
        return slices;
    }

    [Theory]
    [MemberData(nameof(HevcClipFixture.Names), MemberType = typeof(HevcClipFixture))]
    public void Slice_segment_header_lengths_match_ffmpegs_parser(string name)
    {
        var clip = clips[name];
        var ours = OurSlices(clip);
        var traced = TraceHeaders.ReadAll(clip.File);
        var sliceHeaders = traced.Where(h => h.Name == "Slice Segment Header").ToList();
        Assert.Equal(sliceHeaders.Count, ours.Count);
        // ffmpeg's count ends with byte_alignment(), in bits of the NAL unit without its emulation prevention bytes.
        var theirs = sliceHeaders.Select((h, i) => TraceHeaders.StoredBytes(ours[i].Nal, (h.End + 7) / 8)).ToList();
        Assert.Equal(theirs, ours.Select(s => s.Length).ToList());
        Assert.True(ours.Count >= clip.Samples.Count);
        string shows = HevcClipFixture.Clips[name].Shows;
        Assert.Contains(traced.SelectMany(h => h.Fields), f => $"{f.Name} = {f.Value}".Contains(shows, StringComparison.Ordinal));
    }

    [Fact]
    public void Measuring_slice_segment_headers_allocates_nothing()
    {
        var clip = clips["weighted"];
        var headers = HevcSliceHeaders.FromDecoderConfig(clip.Track.DecoderConfig.Span, out _);
        var slices = OurSlices(clip).Select(s => s.Nal).ToList();
        long sum = 0;
        long allocated = Broadcast.TestSupport.Allocations.LeastOf(3, () =>
        {
            foreach (var nal in slices) sum += headers.HeaderLength(nal);
        });
        Assert.Equal(0, allocated);
        Assert.True(sum > 0);
    }

    [Fact]
    public void The_clips_exercise_what_the_slice_header_depends_on()
    {
        var fields = HevcClipFixture.Clips.Keys.SelectMany(n => TraceHeaders.ReadAll(clips[n].File)).SelectMany(h => h.Fields)
            .Select(f => $"{f.Name} = {f.Value}").ToHashSet();
        // I, P and B slices; the VCL types x265 writes: TRAIL_N/R, TSA_N, RADL_N/R, RASL_N, IDR_W_RADL, IDR_N_LP, CRA.
        Assert.Superset(new HashSet<string> { "slice_type = 0", "slice_type = 1", "slice_type = 2" }, fields);
        foreach (int type in new[] { 0, 1, 2, 6, 7, 8, 19, 20, 21 }) Assert.Contains($"nal_unit_type = {type}", fields);
        Assert.Contains("sps_max_sub_layers_minus1 = 1", fields);
        Assert.Contains("vui_hrd_parameters_present_flag = 1", fields);
        Assert.Contains("entropy_coding_sync_enabled_flag = 1", fields);
        Assert.Contains(fields, f => f.StartsWith("entry_point_offset_minus1", StringComparison.Ordinal));
        Assert.Contains("luma_weight_l0_flag[0] = 1", fields);
        Assert.Contains("chroma_weight_l0_flag[0] = 1", fields);
        Assert.Contains("num_ref_idx_active_override_flag = 1", fields);
        Assert.Contains("collocated_from_l0_flag = 0", fields);
        Assert.Contains(fields, f => f.StartsWith("collocated_ref_idx", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("weighted", EncryptionScheme.Cenc)]
    [InlineData("weighted", EncryptionScheme.Cbcs)]
    [InlineData("slices", EncryptionScheme.Cbcs)]
    public void Subsamples_leave_headers_and_non_slice_nal_units_clear(string name, EncryptionScheme scheme)
    {
        var clip = clips[name];
        var headers = HevcSliceHeaders.FromDecoderConfig(clip.Track.DecoderConfig.Span, out _);
        var check = HevcSliceHeaders.FromDecoderConfig(clip.Track.DecoderConfig.Span, out _);
        int protectedSlices = 0, slices = 0;
        foreach (var sample in clip.Samples)
        {
            var (longSlices, protectedLongSlices, _) = SubsampleAssert.HeadersClear(sample.Data, headers, check, scheme);
            slices += longSlices;
            protectedSlices += protectedLongSlices;
        }
        Assert.True(slices > 0);
        Assert.Equal(slices, protectedSlices);
    }
}
