using Broadcast.Media.Codecs.Hevc;
using Broadcast.Packager.Cmaf.Encryption;

namespace Broadcast.Packager.Tests.Cmaf.Encryption;

/// <summary>
/// Slice segment headers x265 cannot write (<see cref="HevcConstructedStream"/>): measured as written and as ffmpeg's
/// trace_headers reads them; and damaged NAL units and parameter sets refused with what was wrong, never measured wrong.
/// </summary>
[Trait("Kind", "Component")]
public class HevcSliceHeadersConstructedTests(HevcClipFixture clips) : IClassFixture<HevcClipFixture>
{
    private byte[] Vps() => HevcDecoderConfigurationRecord.TryRead(clips["slices"].Track.DecoderConfig.Span, out var record, out _)
        ? record.FindNalUnit(32)! : throw new InvalidOperationException("no hvcC");

    private static List<int> Measure(IEnumerable<byte[]> nals, HevcSliceHeaders? headers = null)
    {
        headers ??= new HevcSliceHeaders();
        var lengths = new List<int>();
        foreach (var nal in nals)
        {
            if (headers.IsSlice(nal)) lengths.Add(headers.HeaderLength(nal));
            else headers.Add(nal);
        }
        return lengths;
    }

    [Theory]
    [InlineData("tiles")]
    [InlineData("planes")]
    public void Constructed_slice_headers_measure_as_written_and_as_ffmpeg_reads_them(string name)
    {
        var stream = name == "tiles" ? HevcConstructedStream.Tiles(Vps()) : HevcConstructedStream.Planes(Vps());
        var written = stream.Slices.Select(s => s.HeaderLength).ToList();
        Assert.Equal(written, Measure(stream.Nals));

        string file = clips.Directory.Combine($"constructed-{name}.hevc");
        File.WriteAllBytes(file, stream.AnnexB());
        var traced = TraceHeaders.ReadAll(file, "-f", "hevc");
        var sliceHeaders = traced.Where(h => h.Name == "Slice Segment Header").ToList();
        Assert.Equal(stream.Slices.Count, sliceHeaders.Count);
        Assert.Equal(written, sliceHeaders.Select((h, i) => TraceHeaders.StoredBytes(stream.Slices[i].Nal, (h.End + 7) / 8)).ToList());

        var fields = traced.SelectMany(h => h.Fields).Select(f => $"{f.Name} = {f.Value}").ToHashSet();
        string[] shown = name == "tiles"
            ?
            [
                "inter_ref_pic_set_prediction_flag = 1", "delta_idx_minus1 = 1", "num_long_term_sps = 1", "num_long_term_pics = 1",
                "used_by_curr_pic_lt_flag[1] = 1", "list_entry_l0[0] = 3", "list_entry_l1[1] = 1", "dependent_slice_segment_flag = 1",
                "collocated_ref_idx = 2", "chroma_weight_l0_flag[1] = 1", "cu_chroma_qp_offset_enabled_flag = 1",
                "slice_deblocking_filter_disabled_flag = 1", "slice_segment_header_extension_length = 3", "num_entry_point_offsets = 5",
                "sub_pic_hrd_params_present_flag = 1", "chroma_qp_offset_list_enabled_flag = 1",
            ]
            : ["separate_colour_plane_flag = 1", "colour_plane_id = 2", "pcm_enabled_flag = 1", "sps_scaling_list_data_present_flag = 1",
                "pps_scaling_list_data_present_flag = 1", "entry_point_offset_minus1[0] = 4294967295"];
        foreach (var field in shown) Assert.Contains(field, fields);
        if (name == "tiles") Assert.Contains(stream.Slices, s => s.HeaderLength > s.RbspHeaderLength); // an escape inside a header
    }

    private static HevcSliceHeaders Tiles()
    {
        var headers = new HevcSliceHeaders();
        headers.Add(HevcConstructedStream.TilesSps().AlignWithOne().Nal(33));
        headers.Add(HevcConstructedStream.TilesPps().AlignWithOne().Nal(34));
        return headers;
    }

    private static byte[] IdrSlice(int ppsId = 5, int sliceType = 2, int entryPoints = 5) =>
        HevcConstructedStream.IdrSliceHeader(new RbspWriter(), ppsId, sliceType, entryPoints).AlignWithOne().Bytes(0x80).Nal(19);

    /// <summary>The stored length of <see cref="IdrSlice"/>'s header as written.</summary>
    private static readonly int IdrHeaderLength =
        TraceHeaders.StoredBytes(IdrSlice(), 2 + HevcConstructedStream.IdrSliceHeader(new RbspWriter(), 5, 2, 5).AlignWithOne().ByteCount);

    private static void Refused(Action act, string reason) =>
        Assert.Contains(reason, Assert.Throws<InvalidDataException>(act).Message, StringComparison.Ordinal);

    [Fact]
    public void Damaged_slices_are_refused_with_what_was_wrong()
    {
        var headers = Tiles();
        var good = IdrSlice();
        Assert.Equal(IdrHeaderLength, headers.HeaderLength(good));

        Refused(() => headers.HeaderLength(good.AsSpan(0, 8)), "ends inside its header");
        Refused(() => headers.HeaderLength(IdrSlice(ppsId: 9)), "picture parameter set 9, never given");
        Refused(() => headers.HeaderLength(IdrSlice(ppsId: 64)), "slice_pic_parameter_set_id is 64, more than 63");
        Refused(() => headers.HeaderLength(IdrSlice(sliceType: 3)), "slice_type is 3, more than 2");
        Refused(() => headers.HeaderLength(IdrSlice(entryPoints: 45)), "num_entry_point_offsets is 45, more than 44");
        var noAlignment = HevcConstructedStream.IdrSliceHeader(new RbspWriter(), 5, 2, 0).Flag(false).PadWith(false).Bytes(0x80).Nal(19);
        Refused(() => headers.HeaderLength(noAlignment), "does not end with alignment_bit_equal_to_one");
        // short_term_ref_pic_set_sps_flag 1 and short_term_ref_pic_set_idx 3, of 3 sets.
        var badSet = new RbspWriter().Flag(true).Ue(5).Flags("00").Ue(2).Flag(true).U(0, 8).Flag(true).U(3, 2).PadWith(true).Bytes(0xFF).Nal(1);
        Refused(() => headers.HeaderLength(badSet), "short_term_ref_pic_set_idx is 3, the sequence parameter set has 3");

        Refused(() => headers.HeaderLength(good.AsSpan(0, 1)), "shorter than its 2-byte header");
        var reserved = good.ToArray();
        reserved[0] = 22 << 1;
        Refused(() => headers.HeaderLength(reserved), "NAL unit type 22 is a reserved VCL type");
        Refused(() => headers.HeaderLength(HevcConstructedStream.IdrSliceHeader(new RbspWriter(), 5, 2, 0).AlignWithOne().Nal(19, layer: 1)),
            "a slice of layer 1");
        var forbidden = good.ToArray();
        forbidden[0] |= 0x80;
        Refused(() => headers.IsSlice(forbidden), "forbidden_zero_bit");
        Refused(() => headers.HeaderLength(new byte[] { 19 << 1, 0, 0x80 }), "nuh_temporal_id_plus1 is 0");
    }

    [Fact]
    public void Damaged_or_unread_parameter_sets_are_refused_and_forgotten()
    {
        var headers = Tiles();
        Assert.Equal(IdrHeaderLength, headers.HeaderLength(IdrSlice()));
        // A PPS 5 of the screen content coding extension replaces the good one: refused, and the slices naming 5 with it.
        Refused(() => headers.Add(HevcConstructedStream.TilesPps(scc: true).AlignWithOne().Nal(34)), "pps_scc_extension");
        Refused(() => headers.HeaderLength(IdrSlice()), "picture parameter set 5, never given");
        headers.Add(HevcConstructedStream.TilesPps().AlignWithOne().Nal(34));
        Assert.Equal(IdrHeaderLength, headers.HeaderLength(IdrSlice()));
        // A damaged SPS 0 (it ends in its VUI) is forgotten too.
        var sps = HevcConstructedStream.TilesSps().AlignWithOne().Nal(33);
        Refused(() => headers.Add(sps.AsSpan(0, 40)), "ends inside");
        Refused(() => headers.HeaderLength(IdrSlice()), "sequence parameter set 0, never given");

        Refused(() => headers.Add(HevcConstructedStream.TilesPps(id: 64).AlignWithOne().Nal(34)), "pps_pic_parameter_set_id is 64, more than 63");
        Refused(() => headers.Add(HevcConstructedStream.TilesSps(shortTermSets: 65).AlignWithOne().Nal(33)),
            "num_short_term_ref_pic_sets is 65, more than 64");
        Refused(() => headers.Add(HevcConstructedStream.TilesSps(id: 16).AlignWithOne().Nal(33)), "sps_seq_parameter_set_id is 16, more than 15");
        Refused(() => HevcSliceHeaders.FromDecoderConfig([1, 2, 3], out _), "not an HEVCDecoderConfigurationRecord");

        // Other NAL units (VPS, AUD, SEI) and another layer's parameter sets are taken and ignored.
        headers.Add([32 << 1, 1, 0xFF]);
        headers.Add([35 << 1, 1, 0x50]);
        headers.Add(HevcConstructedStream.TilesPps(scc: true).AlignWithOne().Nal(34, layer: 2));
    }

    [Fact]
    public void A_damaged_hevc_sample_is_encrypted_whole_and_counted()
    {
        var clip = clips["slices"];
        using var encryptor = EncryptedCmafTests.Encryptor(clip.Track, EncryptionScheme.Cenc);
        var damaged = clip.Samples[1].Data.ToArray();
        int at = 0;
        while (((damaged[at + 4] >> 1) & 0x3F) >= 32) at += 4 + (damaged[at] << 24 | damaged[at + 1] << 16 | damaged[at + 2] << 8 | damaged[at + 3]);
        // The first slice's header after its first_slice_segment_in_pic_flag: a slice_pic_parameter_set_id of more than 31 bits.
        new byte[] { 0x80, 0, 0, 0, 0 }.CopyTo(damaged, at + 6);
        var fragment = encryptor.Encrypt([clip.Samples[0].ToCmaf(), clip.Samples[1].ToCmaf() with { Data = damaged }], 0);
        Assert.Equal(1, encryptor.DamagedSamples);
        var whole = fragment.Subsamples[fragment.Entries[1].FirstSubsample];
        Assert.Equal((damaged.Length % 16, (uint)(damaged.Length - damaged.Length % 16)), ((int)whole.ClearBytes, whole.ProtectedBytes));
    }
}
