namespace Broadcast.Packager.Cmaf.Encryption;

/// <summary>
/// How long an AVC slice header is, in stored bytes, so it stays clear: ISO/IEC 23001-7:2016 keeps the NAL unit header of
/// every NAL unit clear and, for 'cbcs' (§10.4) as CMAF (ISO/IEC 23000-19) constrains it, starts the protected data on the
/// first byte of slice data after the slice header; the packager keeps it clear for 'cenc' too. The slice header's length
/// depends on the sequence and picture parameter sets it names, so they are kept here: those of the avcC and any sent in
/// band. Parsed per ISO/IEC 14496-10 §7.3.2.1.1 (SPS), §7.3.2.2 (PPS) and §7.3.3 (slice header). Flexible macroblock
/// ordering (slice groups, Baseline and Extended profiles only) is refused rather than guessed.
/// </summary>
public sealed class AvcSliceHeaders : ISliceHeaders
{
    private const int MaxSps = 32; // seq_parameter_set_id 0..31 (§7.4.2.1.1)
    private const int MaxPps = 256; // pic_parameter_set_id 0..255 (§7.4.2.2)
    private const int MaxRefIdx = 32;
    private const int MaxListOperations = 100;

    private readonly Sps?[] _sps = new Sps?[MaxSps];
    private readonly Pps?[] _pps = new Pps?[MaxPps];

    private sealed record Sps(int ChromaArrayType, bool SeparateColourPlane, int Log2MaxFrameNum, bool FrameMbsOnly, int PocType,
        int Log2MaxPocLsb, bool DeltaPicOrderAlwaysZero);

    private sealed record Pps(int SpsId, bool Cabac, bool BottomFieldPicOrderPresent, int RefIdxL0, int RefIdxL1, bool WeightedPred,
        int WeightedBipredIdc, bool DeblockingControl, bool RedundantPicCnt);

    /// <summary>The parameter sets of an AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.2.1).</summary>
    public static AvcSliceHeaders FromDecoderConfig(ReadOnlySpan<byte> avcC, out int nalLengthSize)
    {
        var sets = new AvcSliceHeaders();
        if (avcC.Length < 6 || avcC[0] != 1) throw new InvalidDataException("not an AVCDecoderConfigurationRecord");
        nalLengthSize = (avcC[4] & 3) + 1;
        if (nalLengthSize == 3) throw new InvalidDataException("a NAL unit length of 3 bytes is not allowed (§5.3.2.1.2)");
        int at = 5;
        for (int list = 0; list < 2; list++)
        {
            if (at >= avcC.Length) throw new InvalidDataException("the avcC ends before its parameter sets");
            int count = list == 0 ? avcC[at] & 0x1F : avcC[at];
            at++;
            for (int i = 0; i < count; i++)
            {
                if (at + 2 > avcC.Length) throw new InvalidDataException("the avcC ends inside a parameter set length");
                int length = avcC[at] << 8 | avcC[at + 1];
                at += 2;
                if (length == 0 || at + length > avcC.Length) throw new InvalidDataException("an avcC parameter set runs past its end");
                sets.Add(avcC.Slice(at, length));
                at += length;
            }
        }
        return sets;
    }

    /// <summary>Whether <paramref name="nal"/> is a coded slice: NAL unit type 1 (non-IDR) or 5 (IDR).</summary>
    public bool IsSlice(ReadOnlySpan<byte> nal) => !nal.IsEmpty && (nal[0] & 0x1F) is 1 or 5;

    /// <summary>Takes a parameter set NAL unit (type 7 or 8; others are ignored).</summary>
    public void Add(ReadOnlySpan<byte> nal)
    {
        if (nal.IsEmpty) return;
        switch (nal[0] & 0x1F)
        {
            case 7: AddSps(nal); break;
            case 8: AddPps(nal); break;
        }
    }

    private void AddSps(ReadOnlySpan<byte> nal)
    {
        var r = new RbspBitReader(nal, 1);
        int profile = (int)r.ReadBits(8);
        r.ReadBits(16); // constraint flags, reserved bits, level_idc
        int id = r.ReadUe(MaxSps - 1, "seq_parameter_set_id");
        int chromaFormat = 1;
        bool separate = false;
        if (profile is 100 or 110 or 122 or 244 or 44 or 83 or 86 or 118 or 128 or 138 or 139 or 134 or 135)
        {
            chromaFormat = r.ReadUe(3, "chroma_format_idc");
            if (chromaFormat == 3) separate = r.ReadFlag();
            r.ReadUe(); // bit_depth_luma_minus8
            r.ReadUe(); // bit_depth_chroma_minus8
            r.ReadFlag(); // qpprime_y_zero_transform_bypass_flag
            if (r.ReadFlag()) // seq_scaling_matrix_present_flag
            {
                for (int i = 0; i < (chromaFormat != 3 ? 8 : 12); i++)
                    if (r.ReadFlag()) SkipScalingList(ref r, i < 6 ? 16 : 64);
            }
        }
        int log2MaxFrameNum = r.ReadUe(12, "log2_max_frame_num_minus4") + 4;
        int pocType = r.ReadUe(2, "pic_order_cnt_type");
        int log2MaxPocLsb = 0;
        bool alwaysZero = false;
        if (pocType == 0)
        {
            log2MaxPocLsb = r.ReadUe(12, "log2_max_pic_order_cnt_lsb_minus4") + 4;
        }
        else if (pocType == 1)
        {
            alwaysZero = r.ReadFlag();
            r.ReadSe(); // offset_for_non_ref_pic
            r.ReadSe(); // offset_for_top_to_bottom_field
            int cycle = r.ReadUe(255, "num_ref_frames_in_pic_order_cnt_cycle");
            for (int i = 0; i < cycle; i++) r.ReadSe();
        }
        r.ReadUe(); // max_num_ref_frames
        r.ReadFlag(); // gaps_in_frame_num_value_allowed_flag
        r.ReadUe(); // pic_width_in_mbs_minus1
        r.ReadUe(); // pic_height_in_map_units_minus1
        bool frameMbsOnly = r.ReadFlag();
        _sps[id] = new Sps(separate ? 0 : chromaFormat, separate, log2MaxFrameNum, frameMbsOnly, pocType, log2MaxPocLsb, alwaysZero);
    }

    private static void SkipScalingList(ref RbspBitReader r, int size)
    {
        int last = 8, next = 8;
        for (int j = 0; j < size; j++)
        {
            if (next != 0) next = (last + r.ReadSe() + 256) % 256;
            last = next == 0 ? last : next;
        }
    }

    private void AddPps(ReadOnlySpan<byte> nal)
    {
        var r = new RbspBitReader(nal, 1);
        int id = r.ReadUe(MaxPps - 1, "pic_parameter_set_id");
        int spsId = r.ReadUe(MaxSps - 1, "seq_parameter_set_id");
        bool cabac = r.ReadFlag();
        bool bottomField = r.ReadFlag();
        if (r.ReadUe() != 0) throw new InvalidDataException("slice groups (flexible macroblock ordering) cannot be encrypted");
        int l0 = r.ReadUe(MaxRefIdx - 1, "num_ref_idx_l0_default_active_minus1") + 1;
        int l1 = r.ReadUe(MaxRefIdx - 1, "num_ref_idx_l1_default_active_minus1") + 1;
        bool weighted = r.ReadFlag();
        int bipred = (int)r.ReadBits(2);
        r.ReadSe(); // pic_init_qp_minus26
        r.ReadSe(); // pic_init_qs_minus26
        r.ReadSe(); // chroma_qp_index_offset
        bool deblocking = r.ReadFlag();
        r.ReadFlag(); // constrained_intra_pred_flag
        bool redundant = r.ReadFlag();
        _pps[id] = new Pps(spsId, cabac, bottomField, l0, l1, weighted, bipred, deblocking, redundant);
    }

    /// <summary>
    /// Stored bytes of a coded slice NAL unit (type 1 or 5) taken by its one-byte NAL unit header and its slice header
    /// (§7.3.3); a last partly used byte counts whole.
    /// </summary>
    public int HeaderLength(ReadOnlySpan<byte> nal)
    {
        if (nal.IsEmpty) throw new InvalidDataException("an empty NAL unit");
        int nalRefIdc = (nal[0] >> 5) & 3;
        bool idr = (nal[0] & 0x1F) == 5;
        var r = new RbspBitReader(nal, 1);
        r.ReadUe(); // first_mb_in_slice
        int sliceType = r.ReadUe(9, "slice_type") % 5;
        bool p = sliceType is 0 or 3, b = sliceType == 1, i = sliceType is 2 or 4;
        int ppsId = r.ReadUe(MaxPps - 1, "pic_parameter_set_id");
        var pps = _pps[ppsId] ?? throw new InvalidDataException($"a slice names picture parameter set {ppsId}, never given");
        var sps = _sps[pps.SpsId] ?? throw new InvalidDataException($"a picture parameter set names sequence parameter set {pps.SpsId}, never given");
        if (sps.SeparateColourPlane) r.ReadBits(2); // colour_plane_id
        r.ReadBits(sps.Log2MaxFrameNum); // frame_num
        bool field = false;
        if (!sps.FrameMbsOnly && (field = r.ReadFlag())) r.ReadFlag(); // field_pic_flag, bottom_field_flag
        if (idr) r.ReadUe(); // idr_pic_id
        if (sps.PocType == 0)
        {
            r.ReadBits(sps.Log2MaxPocLsb); // pic_order_cnt_lsb
            if (pps.BottomFieldPicOrderPresent && !field) r.ReadSe(); // delta_pic_order_cnt_bottom
        }
        if (sps.PocType == 1 && !sps.DeltaPicOrderAlwaysZero)
        {
            r.ReadSe(); // delta_pic_order_cnt[0]
            if (pps.BottomFieldPicOrderPresent && !field) r.ReadSe(); // delta_pic_order_cnt[1]
        }
        if (pps.RedundantPicCnt) r.ReadUe(); // redundant_pic_cnt
        if (b) r.ReadFlag(); // direct_spatial_mv_pred_flag
        int l0 = pps.RefIdxL0, l1 = pps.RefIdxL1;
        if ((p || b) && r.ReadFlag()) // num_ref_idx_active_override_flag
        {
            l0 = r.ReadUe(MaxRefIdx - 1, "num_ref_idx_l0_active_minus1") + 1;
            if (b) l1 = r.ReadUe(MaxRefIdx - 1, "num_ref_idx_l1_active_minus1") + 1;
        }
        if (!i) SkipRefPicListModification(ref r); // §7.3.3.1
        if (b) SkipRefPicListModification(ref r);
        if ((pps.WeightedPred && p) || (pps.WeightedBipredIdc == 1 && b))
        {
            // pred_weight_table (§7.3.3.2)
            r.ReadUe(); // luma_log2_weight_denom
            if (sps.ChromaArrayType != 0) r.ReadUe(); // chroma_log2_weight_denom
            SkipWeights(ref r, l0, sps.ChromaArrayType != 0);
            if (b) SkipWeights(ref r, l1, sps.ChromaArrayType != 0);
        }
        if (nalRefIdc != 0)
        {
            // dec_ref_pic_marking (§7.3.3.3)
            if (idr)
            {
                r.ReadBits(2); // no_output_of_prior_pics_flag, long_term_reference_flag
            }
            else if (r.ReadFlag()) // adaptive_ref_pic_marking_mode_flag
            {
                for (int n = 0; ; n++)
                {
                    if (n == MaxListOperations) throw new InvalidDataException("a slice header's memory management operations do not end");
                    int operation = r.ReadUe(6, "memory_management_control_operation");
                    if (operation == 0) break;
                    if (operation is 1 or 3) r.ReadUe(); // difference_of_pic_nums_minus1
                    if (operation == 2) r.ReadUe(); // long_term_pic_num
                    if (operation is 3 or 6) r.ReadUe(); // long_term_frame_idx
                    if (operation == 4) r.ReadUe(); // max_long_term_frame_idx_plus1
                }
            }
        }
        if (pps.Cabac && !i) r.ReadUe(); // cabac_init_idc
        r.ReadSe(); // slice_qp_delta
        if (sliceType is 3 or 4)
        {
            if (sliceType == 3) r.ReadFlag(); // sp_for_switch_flag
            r.ReadSe(); // slice_qs_delta
        }
        if (pps.DeblockingControl && r.ReadUe(2, "disable_deblocking_filter_idc") != 1)
        {
            r.ReadSe(); // slice_alpha_c0_offset_div2
            r.ReadSe(); // slice_beta_offset_div2
        }
        return r.BytesConsumed;
    }

    private static void SkipRefPicListModification(ref RbspBitReader r)
    {
        if (!r.ReadFlag()) return; // ref_pic_list_modification_flag_lX
        for (int n = 0; ; n++)
        {
            if (n == MaxListOperations) throw new InvalidDataException("a slice header's reference list modifications do not end");
            int idc = r.ReadUe(5, "modification_of_pic_nums_idc");
            if (idc == 3) return;
            r.ReadUe(); // abs_diff_pic_num_minus1 or long_term_pic_num (or abs_diff_view_idx_minus1)
        }
    }

    private static void SkipWeights(ref RbspBitReader r, int count, bool chroma)
    {
        for (int n = 0; n < count; n++)
        {
            if (r.ReadFlag()) { r.ReadSe(); r.ReadSe(); } // luma weight, offset
            if (chroma && r.ReadFlag())
            {
                for (int j = 0; j < 2; j++) { r.ReadSe(); r.ReadSe(); } // chroma weight, offset (Cb, Cr)
            }
        }
    }
}
