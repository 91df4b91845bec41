namespace Broadcast.Packager.Tests.Cmaf.Encryption;

/// <summary>
/// HEVC streams written bit by bit (<see cref="RbspWriter"/>) for what x265 never sends: reference picture sets in the SPS,
/// predicted from each other and by a slice (inter RPS prediction, §7.3.7), long-term pictures of the SPS and of the
/// slice, reference list modification, tiles with and without wavefronts, dependent slice segments, slice_reserved_flags,
/// pic_output_flag, slice chroma QP offsets, the range extension's chroma QP offset list, deblocking override, slice
/// segment header extensions, HRD parameters with sub-picture parameters, scaling lists, PCM, separate colour planes and
/// emulation prevention inside a header. Each slice header's stored length is known as it is written; ffmpeg's
/// trace_headers (given the stream with a real x265 VPS) reads it as the second, independent count. The slice data after
/// each header is filler: only the headers are read.
/// </summary>
internal sealed class HevcConstructedStream
{
    /// <summary>One slice segment NAL unit and its header's length as written, in stored bytes.</summary>
    public sealed record Slice(byte[] Nal, int HeaderLength, int RbspHeaderLength);

    public List<byte[]> Nals { get; } = [];

    public List<Slice> Slices { get; } = [];

    /// <summary>The stream as Annex B (start codes), what ffmpeg's raw hevc demuxer reads.</summary>
    public byte[] AnnexB() => [.. Nals.SelectMany(n => new byte[] { 0, 0, 0, 1 }.Concat(n))];

    private void Add(byte[] nal) => Nals.Add(nal);

    /// <summary>Ends the header written in <paramref name="w"/> with byte_alignment(), adds filler slice data and keeps the slice.</summary>
    private void AddSlice(int type, RbspWriter w)
    {
        w.AlignWithOne();
        int header = 2 + w.ByteCount;
        var nal = w.Bytes(0xA5, 0x5A, 0xC3, 0x3C, 0x96, 0x69, 0x80).Nal(type);
        Nals.Add(nal);
        Slices.Add(new Slice(nal, TraceHeaders.StoredBytes(nal, header), header));
    }

    /// <summary>4:2:0 320x240 in 16x16 coding tree blocks (20x15), 3x2 tiles with wavefronts, every slice header field the PPS can turn on.</summary>
    public static HevcConstructedStream Tiles(byte[] vps)
    {
        var s = new HevcConstructedStream();
        s.Add(vps);
        s.Add(TilesSps().AlignWithOne().Nal(33));
        s.Add(TilesPps().AlignWithOne().Nal(34));
        // IDR_W_RADL: an I slice with its extra bits, output flag, SAO, chroma QP offsets, deblocking override, entry points
        // (tiles and wavefronts) and a header extension; then a dependent slice segment of the same picture.
        s.AddSlice(19, IdrSliceHeader(new RbspWriter(), 5, 2, 5));
        s.AddSlice(19, new RbspWriter().Flag(false).Flag(false).Ue(5).Flag(true).U(137, 9).Ue(1).Ue(2).U(5, 3).Ue(0));
        // TRAIL_R: a P slice with its own reference picture set, predicted from the SPS's second (delta_idx_minus1 1,
        // deltaRps -1: two pictures used), a long-term picture of the SPS and one of its own (NumPicTotalCurr 4), list
        // modification, collocated_ref_idx and a weight table with luma and chroma weights.
        s.AddSlice(1, new RbspWriter().Flag(true).Ue(5).Flags("01").Ue(1).Flag(false).U(4, 8).Flag(false)
            .Flag(true).Ue(1).Flag(true).Ue(0).Flags("1" + "00" + "1" + "01")
            .Ue(1).Ue(1).U(0, 1).Flag(true).Ue(1).U(200, 8).Flag(true).Flag(false)
            .Flag(true).Flag(true).Flag(true).Flag(true).Ue(2).Flag(true).U(3, 2).U(0, 2).U(2, 2).Flag(true).Ue(2)
            .Ue(6).Se(-1).Flags("101").Flags("010").Se(3).Se(-5).Se(2).Se(-7).Se(-1).Se(4).Se(-2).Se(1).Ue(2)
            .Se(-4).Se(0).Se(2).Flag(false).Flag(true).Flag(true).Flag(false).Ue(0).Ue(0));
        // TRAIL_N: a B slice naming the SPS's first set (2 bits of short_term_ref_pic_set_idx), list 1 modified, both
        // lists weighted, then two 16-bit zero entry points and three zero extension bytes: emulation prevention in the header.
        s.AddSlice(0, new RbspWriter().Flag(true).Ue(5).Flags("00").Ue(0).Flag(true).U(2, 8).Flag(true).U(0, 2).Ue(0).Ue(0)
            .Flag(false).Flag(false).Flag(false).Flag(true).Ue(1).Ue(1).Flag(false).Flag(true).U(2, 2).U(1, 2).Flag(true).Flag(false)
            .Ue(3).Se(1).Flags("01").Flags("10").Se(1).Se(-1).Se(0).Se(2).Se(1).Se(0).Flags("11").Flags("00").Se(0).Se(3).Se(-1).Se(-1)
            .Ue(0).Se(0).Se(0).Se(0).Flag(true).Flag(false).Flag(true).Ue(2).Ue(15).U(0, 16).U(0, 16).Ue(3).Bytes(0, 0, 0));
        // CRA: no_output_of_prior_pics_flag, the SPS's third set, no long-term pictures.
        s.AddSlice(21, new RbspWriter().Flag(true).Flag(true).Ue(5).Flags("11").Ue(2).Flag(true).U(8, 8).Flag(true).U(2, 2).Ue(0).Ue(0)
            .Flag(true).Flag(false).Flag(false).Se(1).Se(0).Se(0).Flag(false).Flag(false).Flag(false).Ue(0).Ue(0));
        return s;
    }

    /// <summary>
    /// The IDR slice header of <see cref="Tiles"/>, up to byte_alignment(), with <paramref name="ppsId"/>,
    /// <paramref name="sliceType"/> and <paramref name="entryPoints"/> as given (the malformed tests change them).
    /// </summary>
    public static RbspWriter IdrSliceHeader(RbspWriter w, int ppsId, int sliceType, int entryPoints)
    {
        w.Flag(true).Flag(false).Ue(ppsId).Flags("10").Ue(sliceType).Flag(true).Flag(true).Flag(false).Se(3).Se(-1).Se(1).Flag(true)
            .Flag(true).Flag(false).Se(2).Se(-2).Flag(true).Ue(entryPoints);
        if (entryPoints > 0) w.Ue(9);
        for (int i = 0; i < entryPoints; i++) w.U(100 * (i + 1), 10);
        return w.Ue(2).Bytes(0xAB, 0x00);
    }

    /// <summary>The SPS of <see cref="Tiles"/> up to its rbsp_trailing_bits.</summary>
    public static RbspWriter TilesSps(int id = 0, int shortTermSets = 3)
    {
        var w = new RbspWriter().U(0, 4).U(0, 3).Flag(true);
        ProfileTierLevel(w);
        w.Ue(id).Ue(1).Ue(320).Ue(240).Flag(false).Ue(0).Ue(0).Ue(4) // 4:2:0, 8 bits, 8-bit POC LSBs
            .Flag(true).Ue(5).Ue(2).Ue(0) // sub-layer ordering: 6 pictures buffered
            .Ue(0).Ue(1).Ue(0).Ue(2).Ue(1).Ue(1).Flag(false).Flag(true).Flag(true).Flag(false) // 16x16 CTBs; AMP, SAO
            .Ue(shortTermSets)
            .Ue(2).Ue(1).Ue(0).Flag(true).Ue(1).Flag(true).Ue(1).Flag(true) // set 0: -1, -3, +2, all used
            .Flag(true).Flag(false).Ue(0).Flags("00" + "1" + "01" + "1") // set 1 from set 0, deltaRps +1: -2, +1 used, +3 not
            .Flag(false).Ue(1).Ue(0).Ue(0).Flag(false) // set 2: -1, not used
            .Flag(true).Ue(2).U(5, 8).Flag(true).U(9, 8).Flag(false) // two long-term pictures, the first used
            .Flag(true).Flag(false).Flag(true); // temporal MVP; VUI:
        w.Flag(true).U(255, 8).U(4, 16).U(3, 16).Flag(false).Flag(true).U(5, 3).Flag(false).Flag(true).U(1, 8).U(1, 8).U(1, 8)
            .Flag(false).Flags("000").Flag(false)
            .Flag(true).U(1001, 32).U(30000, 32).Flag(true).Ue(0).Flag(true); // timing, with HRD:
        w.Flag(true).Flag(false).Flag(true).U(23, 8).U(4, 5).Flag(true).U(4, 5).U(2, 4).U(3, 4).U(2, 4).U(23, 5).U(23, 5).U(23, 5)
            .Flag(false).Flag(false).Flag(false).Ue(1)
            .Ue(1000).Ue(2000).Ue(500).Ue(300).Flag(false).Ue(2000).Ue(3000).Ue(600).Ue(400).Flag(true)
            .Flag(true).Flags("001").Ue(0).Ue(2).Ue(1).Ue(15).Ue(15); // bitstream restriction
        return w.Flag(true).Flags("1000").U(0, 4).Flags("000000000"); // the range extension, all off
    }

    /// <summary>The PPS of <see cref="Tiles"/> (id 5) up to its rbsp_trailing_bits; <paramref name="scc"/> sets pps_scc_extension_flag.</summary>
    public static RbspWriter TilesPps(int id = 5, int spsId = 0, bool scc = false) =>
        new RbspWriter().Ue(id).Ue(spsId).Flag(true).Flag(true).U(2, 3).Flag(false).Flag(true).Ue(1).Ue(0).Se(0).Flag(false).Flag(true)
            .Flag(true).Ue(1).Se(-1).Se(2).Flag(true).Flag(true).Flag(true).Flag(false).Flag(true).Flag(true)
            .Ue(2).Ue(1).Flag(false).Ue(5).Ue(6).Ue(6).Flag(true) // 3x2 tiles: columns 6, 7, 7; rows 7, 8
            .Flag(true).Flag(true).Flag(true).Flag(false).Se(1).Se(-1) // across slices; deblocking override allowed
            .Flag(false).Flag(true).Ue(0).Flag(true) // lists modification, slice header extension
            .Flag(true).Flags(scc ? "1001" : "1000").U(0, 4)
            .Ue(0).Flag(false).Flag(true).Ue(0).Ue(1).Se(1).Se(-1).Se(2).Se(-2).Ue(0).Ue(0); // range extension: chroma QP offset list

    /// <summary>Separate colour planes (4:4:4, ChromaArrayType 0) of 128x64 in 8x4 CTBs, 2x2 uniform tiles without
    /// wavefronts, scaling lists in SPS and PPS, PCM, 16-bit POC LSBs and no reference picture set in the SPS.</summary>
    public static HevcConstructedStream Planes(byte[] vps)
    {
        var s = new HevcConstructedStream();
        s.Add(vps);
        var sps = new RbspWriter().U(0, 4).U(0, 3).Flag(true);
        ProfileTierLevel(sps);
        sps.Ue(1).Ue(3).Flag(true).Ue(128).Ue(64).Flag(false).Ue(0).Ue(0).Ue(12).Flag(false).Ue(3).Ue(0).Ue(0)
            .Ue(0).Ue(1).Ue(0).Ue(2).Ue(1).Ue(1).Flag(true).Flag(true);
        ScalingLists(sps, explicitEvery: 3);
        sps.Flag(false).Flag(true).Flag(true).U(7, 4).U(7, 4).Ue(0).Ue(1).Flag(true) // SAO; PCM
            .Ue(0).Flag(false).Flag(false).Flag(false).Flag(false).Flag(false);
        s.Add(sps.AlignWithOne().Nal(33));
        var pps = new RbspWriter().Ue(7).Ue(1).Flag(false).Flag(false).U(0, 3).Flag(true).Flag(false).Ue(0).Ue(0).Se(0).Flag(false)
            .Flag(false).Flag(false).Se(0).Se(0).Flag(false).Flag(true).Flag(false).Flag(false).Flag(true).Flag(false)
            .Ue(1).Ue(1).Flag(true).Flag(false).Flag(false).Flag(false).Flag(true);
        ScalingLists(pps, explicitEvery: 5);
        s.Add(pps.Flag(false).Ue(1).Flag(false).Flag(false).AlignWithOne().Nal(34));
        // IDR_N_LP, one slice per colour plane (colour_plane_id), entry points of the tiles.
        s.AddSlice(20, new RbspWriter().Flag(true).Flag(false).Ue(7).Ue(2).U(0, 2).Flag(true).Se(2).Ue(1).Ue(4).U(9, 5));
        s.AddSlice(20, new RbspWriter().Flag(false).Flag(false).Ue(7).U(16, 5).Ue(2).U(1, 2).Flag(false).Se(0).Ue(0));
        s.AddSlice(20, new RbspWriter().Flag(false).Flag(false).Ue(7).U(8, 5).Ue(2).U(2, 2).Flag(false).Se(0).Ue(3).Ue(0).Flags("101"));
        // TRAIL_R: a P slice with its own set (not predicted: the SPS has none), a luma-only weight table, 32-bit entry points.
        s.AddSlice(1, new RbspWriter().Flag(true).Ue(7).Ue(1).U(2, 2).U(1234, 16).Flag(false).Ue(1).Ue(0).Ue(0).Flag(true)
            .Flag(true).Flag(false).Ue(5).Flags("1").Se(-3).Se(7).Ue(3).Se(-1).Ue(2).Ue(31).U(0xFFFFFFFF, 32).U(0, 32));
        return s;
    }

    /// <summary>profile_tier_level(1, 0): Main, level 2.</summary>
    private static void ProfileTierLevel(RbspWriter w) =>
        w.U(0, 2).U(0, 1).U(1, 5).U(0x60000000, 32).Flags("1001").U(0, 43).U(0, 1).U(60, 8);

    /// <summary>scaling_list_data() (§7.3.4): every <paramref name="explicitEvery"/>th matrix sent coefficient by coefficient, the others predicted.</summary>
    private static void ScalingLists(RbspWriter w, int explicitEvery)
    {
        int n = 0;
        for (int sizeId = 0; sizeId < 4; sizeId++)
        {
            for (int matrixId = 0; matrixId < 6; matrixId += sizeId == 3 ? 3 : 1, n++)
            {
                if (n % explicitEvery != 0)
                {
                    w.Flag(false).Ue(0); // scaling_list_pred_mode_flag 0, scaling_list_pred_matrix_id_delta 0: the default list
                    continue;
                }
                w.Flag(true);
                if (sizeId > 1) w.Se(4); // scaling_list_dc_coef_minus8
                for (int i = 0; i < Math.Min(64, 1 << (4 + (sizeId << 1))); i++) w.Se(i % 3 - 1);
            }
        }
    }
}
