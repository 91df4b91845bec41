namespace Broadcast.Packager.Cmaf.Encryption;

/// <summary>What of an HEVC sequence parameter set (ITU-T H.265 §7.3.2.2) the slice segment header's syntax depends on.</summary>
internal sealed record HevcSpsFields(int ChromaArrayType, bool SeparateColourPlane, int Log2MaxPocLsb, ShortTermRefPicSet[] ShortTermSets,
    bool LongTermPresent, bool[] LongTermUsed, bool TemporalMvp, bool Sao, int PicWidthInCtbs, int PicHeightInCtbs)
{
    public int PicSizeInCtbs => PicWidthInCtbs * PicHeightInCtbs;
}

/// <summary>What of an HEVC picture parameter set (ITU-T H.265 §7.3.2.3) the slice segment header's syntax depends on.</summary>
internal sealed record HevcPpsFields(int SpsId, bool DependentSlices, bool OutputFlagPresent, int ExtraSliceHeaderBits, bool CabacInitPresent,
    int RefIdxL0, int RefIdxL1, bool SliceChromaQpOffsets, bool WeightedPred, bool WeightedBipred, bool Tiles, bool EntropySync,
    int TileColumns, int TileRows, bool LoopFilterAcrossSlices, bool DeblockingOverride, bool DeblockingDisabled, bool ListsModification,
    bool SliceHeaderExtension, bool ChromaQpOffsetList);

/// <summary>
/// The SPS and PPS of ITU-T H.265 read for the slice segment header: every field up to the last one it needs, and the SPS's
/// VUI (Annex E) to its end, to reach the extension flags; parameter sets of the screen content coding extensions, whose
/// slice headers carry fields of their own (§7.3.6.1: use_integer_mv_flag, slice_act_y_qp_offset…), and those of a later
/// version (nonzero sps_extension_4bits or pps_extension_4bits) are refused. Counts are bounded by the ranges §7.4.3
/// gives them.
/// </summary>
internal static class HevcParameterSets
{
    public const int MaxSps = 16; // sps_seq_parameter_set_id 0..15 (§7.4.3.2.1)
    public const int MaxPps = 64; // pps_pic_parameter_set_id 0..63 (§7.4.3.3.1)
    public const int MaxRefIdx = 15; // num_ref_idx_l0_default_active_minus1 and the slice's override are 0..14
    private const int MaxLumaSize = 16888; // √(8 × MaxLumaPs) of level 6.2 (§A.4.1): the widest or tallest picture
    private const int MaxLongTermSps = 32; // num_long_term_ref_pics_sps 0..32

    /// <summary>seq_parameter_set_rbsp() from after the NAL unit header; <paramref name="id"/> is known once it is read,
    /// so a refused set can be forgotten.</summary>
    public static HevcSpsFields ReadSps(ReadOnlySpan<byte> nal, out int id)
    {
        id = -1;
        var r = new RbspBitReader(nal, 2);
        r.Skip(4); // sps_video_parameter_set_id
        int maxSubLayersMinus1 = (int)r.ReadBits(3);
        if (maxSubLayersMinus1 > 6) throw new InvalidDataException($"sps_max_sub_layers_minus1 is {maxSubLayersMinus1}, more than 6");
        r.ReadFlag(); // sps_temporal_id_nesting_flag
        SkipProfileTierLevel(ref r, maxSubLayersMinus1);
        id = r.ReadUe(MaxSps - 1, "sps_seq_parameter_set_id");
        int chromaFormat = r.ReadUe(3, "chroma_format_idc");
        bool separate = chromaFormat == 3 && r.ReadFlag();
        int width = r.ReadUe(MaxLumaSize, "pic_width_in_luma_samples");
        int height = r.ReadUe(MaxLumaSize, "pic_height_in_luma_samples");
        if (width == 0 || height == 0) throw new InvalidDataException("a sequence parameter set's picture is empty");
        if (r.ReadFlag()) // conformance_window_flag
            for (int i = 0; i < 4; i++) r.ReadUe(); // left, right, top, bottom offsets
        r.ReadUe(); // bit_depth_luma_minus8
        r.ReadUe(); // bit_depth_chroma_minus8
        int log2MaxPocLsb = r.ReadUe(12, "log2_max_pic_order_cnt_lsb_minus4") + 4;
        bool orderingInfo = r.ReadFlag(); // sps_sub_layer_ordering_info_present_flag
        for (int i = orderingInfo ? 0 : maxSubLayersMinus1; i <= maxSubLayersMinus1; i++)
        {
            r.ReadUe(HevcReferencePictureSets.MaxPictures - 1, "sps_max_dec_pic_buffering_minus1");
            r.ReadUe(); // sps_max_num_reorder_pics
            r.ReadUe(); // sps_max_latency_increase_plus1
        }
        int minCbLog2 = r.ReadUe(3, "log2_min_luma_coding_block_size_minus3") + 3;
        int ctbLog2 = minCbLog2 + r.ReadUe(3, "log2_diff_max_min_luma_coding_block_size");
        if (ctbLog2 > 6) throw new InvalidDataException($"a sequence parameter set's coding tree blocks are 2^{ctbLog2} wide, more than 64");
        r.ReadUe(); // log2_min_luma_transform_block_size_minus2
        r.ReadUe(); // log2_diff_max_min_luma_transform_block_size
        r.ReadUe(); // max_transform_hierarchy_depth_inter
        r.ReadUe(); // max_transform_hierarchy_depth_intra
        if (r.ReadFlag() && r.ReadFlag()) SkipScalingListData(ref r); // scaling_list_enabled_flag, sps_scaling_list_data_present_flag
        r.ReadFlag(); // amp_enabled_flag
        bool sao = r.ReadFlag(); // sample_adaptive_offset_enabled_flag
        if (r.ReadFlag()) // pcm_enabled_flag
        {
            r.Skip(8); // pcm_sample_bit_depth_luma_minus1, pcm_sample_bit_depth_chroma_minus1
            r.ReadUe(); // log2_min_pcm_luma_coding_block_size_minus3
            r.ReadUe(); // log2_diff_max_min_pcm_luma_coding_block_size
            r.ReadFlag(); // pcm_loop_filter_disabled_flag
        }
        var sets = new ShortTermRefPicSet[r.ReadUe(HevcReferencePictureSets.MaxSets, "num_short_term_ref_pic_sets")];
        Span<int> deltaPocs = stackalloc int[HevcReferencePictureSets.MaxPictures];
        Span<bool> used = stackalloc bool[HevcReferencePictureSets.MaxPictures];
        for (int i = 0; i < sets.Length; i++)
        {
            int count = HevcReferencePictureSets.Read(ref r, sets.AsSpan(0, i), false, deltaPocs, used, out int numNegative);
            sets[i] = new ShortTermRefPicSet(deltaPocs[..count].ToArray(), used[..count].ToArray(), numNegative);
        }
        bool longTerm = r.ReadFlag(); // long_term_ref_pics_present_flag
        bool[] longTermUsed = [];
        if (longTerm)
        {
            longTermUsed = new bool[r.ReadUe(MaxLongTermSps, "num_long_term_ref_pics_sps")];
            for (int i = 0; i < longTermUsed.Length; i++)
            {
                r.Skip(log2MaxPocLsb); // lt_ref_pic_poc_lsb_sps
                longTermUsed[i] = r.ReadFlag(); // used_by_curr_pic_lt_sps_flag
            }
        }
        bool temporalMvp = r.ReadFlag(); // sps_temporal_mvp_enabled_flag
        r.ReadFlag(); // strong_intra_smoothing_enabled_flag
        if (r.ReadFlag()) SkipVui(ref r, maxSubLayersMinus1); // vui_parameters_present_flag
        if (r.ReadFlag()) // sps_extension_present_flag
        {
            r.Skip(3); // sps_range_extension_flag, sps_multilayer_extension_flag, sps_3d_extension_flag: nothing of a base layer's slice header
            if (r.ReadFlag()) throw new InvalidDataException("the screen content coding extension (sps_scc_extension) of a sequence parameter set is not read");
            if (r.ReadBits(4) != 0) throw new InvalidDataException("a sequence parameter set has extension data of a later version of H.265 (sps_extension_4bits)");
        }
        int ctb = 1 << ctbLog2;
        return new HevcSpsFields(separate ? 0 : chromaFormat, separate, log2MaxPocLsb, sets, longTerm, longTermUsed, temporalMvp, sao,
            (width + ctb - 1) >> ctbLog2, (height + ctb - 1) >> ctbLog2);
    }

    /// <summary>pic_parameter_set_rbsp() from after the NAL unit header, through the range extension's chroma QP offset list flag.</summary>
    public static HevcPpsFields ReadPps(ReadOnlySpan<byte> nal, out int id)
    {
        id = -1;
        var r = new RbspBitReader(nal, 2);
        id = r.ReadUe(MaxPps - 1, "pps_pic_parameter_set_id");
        int spsId = r.ReadUe(MaxSps - 1, "pps_seq_parameter_set_id");
        bool dependent = r.ReadFlag(); // dependent_slice_segments_enabled_flag
        bool outputFlag = r.ReadFlag(); // output_flag_present_flag
        int extraBits = (int)r.ReadBits(3); // num_extra_slice_header_bits
        r.ReadFlag(); // sign_data_hiding_enabled_flag
        bool cabacInit = r.ReadFlag(); // cabac_init_present_flag
        int l0 = r.ReadUe(MaxRefIdx - 1, "num_ref_idx_l0_default_active_minus1") + 1;
        int l1 = r.ReadUe(MaxRefIdx - 1, "num_ref_idx_l1_default_active_minus1") + 1;
        r.ReadSe(); // init_qp_minus26
        r.ReadFlag(); // constrained_intra_pred_flag
        bool transformSkip = r.ReadFlag(); // transform_skip_enabled_flag
        if (r.ReadFlag()) r.ReadUe(); // cu_qp_delta_enabled_flag, diff_cu_qp_delta_depth
        r.ReadSe(); // pps_cb_qp_offset
        r.ReadSe(); // pps_cr_qp_offset
        bool sliceChromaQp = r.ReadFlag(); // pps_slice_chroma_qp_offsets_present_flag
        bool weightedPred = r.ReadFlag(); // weighted_pred_flag
        bool weightedBipred = r.ReadFlag(); // weighted_bipred_flag
        r.ReadFlag(); // transquant_bypass_enabled_flag
        bool tiles = r.ReadFlag(); // tiles_enabled_flag
        bool entropySync = r.ReadFlag(); // entropy_coding_sync_enabled_flag
        int columns = 1, rows = 1;
        if (tiles)
        {
            // At most PicWidthInCtbsY columns and PicHeightInCtbsY rows (§7.4.3.3.1): checked against the SPS at each slice.
            columns = r.ReadUe(MaxLumaSize / 16 - 1, "num_tile_columns_minus1") + 1;
            rows = r.ReadUe(MaxLumaSize / 16 - 1, "num_tile_rows_minus1") + 1;
            if (!r.ReadFlag()) // uniform_spacing_flag
            {
                for (int i = 0; i < columns - 1; i++) r.ReadUe(); // column_width_minus1
                for (int i = 0; i < rows - 1; i++) r.ReadUe(); // row_height_minus1
            }
            r.ReadFlag(); // loop_filter_across_tiles_enabled_flag
        }
        bool acrossSlices = r.ReadFlag(); // pps_loop_filter_across_slices_enabled_flag
        bool deblockingOverride = false, deblockingDisabled = false;
        if (r.ReadFlag()) // deblocking_filter_control_present_flag
        {
            deblockingOverride = r.ReadFlag(); // deblocking_filter_override_enabled_flag
            deblockingDisabled = r.ReadFlag(); // pps_deblocking_filter_disabled_flag
            if (!deblockingDisabled)
            {
                r.ReadSe(); // pps_beta_offset_div2
                r.ReadSe(); // pps_tc_offset_div2
            }
        }
        if (r.ReadFlag()) SkipScalingListData(ref r); // pps_scaling_list_data_present_flag
        bool listsModification = r.ReadFlag(); // lists_modification_present_flag
        r.ReadUe(); // log2_parallel_merge_level_minus2
        bool headerExtension = r.ReadFlag(); // slice_segment_header_extension_present_flag
        bool chromaQpOffsetList = false;
        if (r.ReadFlag()) // pps_extension_present_flag
        {
            bool range = r.ReadFlag(); // pps_range_extension_flag
            r.Skip(2); // pps_multilayer_extension_flag, pps_3d_extension_flag: nothing of a base layer's slice header
            if (r.ReadFlag()) throw new InvalidDataException("the screen content coding extension (pps_scc_extension) of a picture parameter set is not read");
            if (r.ReadBits(4) != 0) throw new InvalidDataException("a picture parameter set has extension data of a later version of H.265 (pps_extension_4bits)");
            if (range)
            {
                // pps_range_extension() (§7.3.2.3.2), up to the one flag the slice header reads.
                if (transformSkip) r.ReadUe(); // log2_max_transform_skip_block_size_minus2
                r.ReadFlag(); // cross_component_prediction_enabled_flag
                chromaQpOffsetList = r.ReadFlag(); // chroma_qp_offset_list_enabled_flag
            }
        }
        return new HevcPpsFields(spsId, dependent, outputFlag, extraBits, cabacInit, l0, l1, sliceChromaQp, weightedPred, weightedBipred, tiles,
            entropySync, columns, rows, acrossSlices, deblockingOverride, deblockingDisabled, listsModification, headerExtension, chromaQpOffsetList);
    }

    /// <summary>profile_tier_level(1, sps_max_sub_layers_minus1) (§7.3.3): its general part and each sub-layer's, all fixed-length.</summary>
    private static void SkipProfileTierLevel(ref RbspBitReader r, int maxSubLayersMinus1)
    {
        r.Skip(88 + 8); // general profile space, tier, idc, 32 compatibility flags, 48 bits of constraints; general_level_idc
        Span<bool> profilePresent = stackalloc bool[6], levelPresent = stackalloc bool[6];
        for (int i = 0; i < maxSubLayersMinus1; i++)
        {
            profilePresent[i] = r.ReadFlag(); // sub_layer_profile_present_flag
            levelPresent[i] = r.ReadFlag(); // sub_layer_level_present_flag
        }
        if (maxSubLayersMinus1 > 0) r.Skip(2 * (8 - maxSubLayersMinus1)); // reserved_zero_2bits
        for (int i = 0; i < maxSubLayersMinus1; i++)
        {
            if (profilePresent[i]) r.Skip(88);
            if (levelPresent[i]) r.Skip(8);
        }
    }

    /// <summary>scaling_list_data() (§7.3.4).</summary>
    private static void SkipScalingListData(ref RbspBitReader r)
    {
        for (int sizeId = 0; sizeId < 4; sizeId++)
        {
            for (int matrixId = 0; matrixId < 6; matrixId += sizeId == 3 ? 3 : 1)
            {
                if (!r.ReadFlag()) // scaling_list_pred_mode_flag
                {
                    r.ReadUe(); // scaling_list_pred_matrix_id_delta
                    continue;
                }
                int coefficients = Math.Min(64, 1 << (4 + (sizeId << 1)));
                if (sizeId > 1) r.ReadSe(); // scaling_list_dc_coef_minus8
                for (int i = 0; i < coefficients; i++) r.ReadSe(); // scaling_list_delta_coef
            }
        }
    }

    /// <summary>vui_parameters() (§E.2.1), skipped: only what follows it in the SPS matters here.</summary>
    private static void SkipVui(ref RbspBitReader r, int maxSubLayersMinus1)
    {
        if (r.ReadFlag() && r.ReadBits(8) == 255) r.Skip(32); // aspect_ratio_info_present_flag, aspect_ratio_idc, sar_width, sar_height
        if (r.ReadFlag()) r.ReadFlag(); // overscan_info_present_flag, overscan_appropriate_flag
        if (r.ReadFlag()) // video_signal_type_present_flag
        {
            r.Skip(4); // video_format, video_full_range_flag
            if (r.ReadFlag()) r.Skip(24); // colour_description_present_flag; colour_primaries, transfer_characteristics, matrix_coeffs
        }
        if (r.ReadFlag()) // chroma_loc_info_present_flag
        {
            r.ReadUe(); // chroma_sample_loc_type_top_field
            r.ReadUe(); // chroma_sample_loc_type_bottom_field
        }
        r.Skip(3); // neutral_chroma_indication_flag, field_seq_flag, frame_field_info_present_flag
        if (r.ReadFlag()) // default_display_window_flag
            for (int i = 0; i < 4; i++) r.ReadUe(); // the window's offsets
        if (r.ReadFlag()) // vui_timing_info_present_flag
        {
            r.Skip(64); // vui_num_units_in_tick, vui_time_scale
            if (r.ReadFlag()) r.ReadUe(); // vui_poc_proportional_to_timing_flag, vui_num_ticks_poc_diff_one_minus1
            if (r.ReadFlag()) SkipHrd(ref r, maxSubLayersMinus1); // vui_hrd_parameters_present_flag
        }
        if (r.ReadFlag()) // bitstream_restriction_flag
        {
            r.Skip(3); // tiles_fixed_structure_flag, motion_vectors_over_pic_boundaries_flag, restricted_ref_pic_lists_flag
            for (int i = 0; i < 5; i++) r.ReadUe(); // min_spatial_segmentation_idc … log2_max_mv_length_vertical
        }
    }

    /// <summary>hrd_parameters(1, sps_max_sub_layers_minus1) (§E.2.2), with sub_layer_hrd_parameters() (§E.2.3).</summary>
    private static void SkipHrd(ref RbspBitReader r, int maxSubLayersMinus1)
    {
        bool nal = r.ReadFlag(), vcl = r.ReadFlag(); // nal_hrd_parameters_present_flag, vcl_hrd_parameters_present_flag
        bool subPic = false;
        if (nal || vcl)
        {
            subPic = r.ReadFlag(); // sub_pic_hrd_params_present_flag
            if (subPic) r.Skip(8 + 5 + 1 + 5); // tick_divisor_minus2 … dpb_output_delay_du_length_minus1
            r.Skip(8); // bit_rate_scale, cpb_size_scale
            if (subPic) r.Skip(4); // cpb_size_du_scale
            r.Skip(15); // initial_cpb_removal_delay_length_minus1, au_cpb_removal_delay_length_minus1, dpb_output_delay_length_minus1
        }
        for (int i = 0; i <= maxSubLayersMinus1; i++)
        {
            bool fixedRate = r.ReadFlag() || r.ReadFlag(); // fixed_pic_rate_general_flag, else fixed_pic_rate_within_cvs_flag
            bool lowDelay = false;
            if (fixedRate) r.ReadUe(); // elemental_duration_in_tc_minus1
            else lowDelay = r.ReadFlag(); // low_delay_hrd_flag
            int cpbCount = lowDelay ? 1 : r.ReadUe(31, "cpb_cnt_minus1") + 1;
            for (int k = (nal ? 1 : 0) + (vcl ? 1 : 0); k > 0; k--)
            {
                for (int j = 0; j < cpbCount; j++)
                {
                    r.ReadUe(); // bit_rate_value_minus1
                    r.ReadUe(); // cpb_size_value_minus1
                    if (subPic)
                    {
                        r.ReadUe(); // cpb_size_du_value_minus1
                        r.ReadUe(); // bit_rate_du_value_minus1
                    }
                    r.ReadFlag(); // cbr_flag
                }
            }
        }
    }
}
