namespace Broadcast.Packager.Cmaf.Encryption;

/// <summary>
/// The fields of an independent slice segment's header (ITU-T H.265 §7.3.6.1, from the slice_reserved_flags to
/// slice_loop_filter_across_slices_enabled_flag), read only for their length: the reference picture set (§7.3.7) and
/// long-term pictures that make NumPicTotalCurr (§7.4.7.2, the width of list_entry_lX), the reference list
/// modification (§7.3.6.2) and pred_weight_table() (§7.3.6.3). Screen content coding's fields are not here: its parameter
/// sets are refused (<see cref="HevcParameterSets"/>), and so, with only the base layer read, is every case of §7.3.6.3
/// where a reference picture would be the current picture itself.
/// </summary>
internal static class HevcSliceSegmentFields
{
    private const int SliceB = 0, SliceP = 1, SliceI = 2; // slice_type (Table 7-7)

    public static void Read(ref RbspBitReader r, int nalType, HevcPpsFields pps, HevcSpsFields sps)
    {
        r.Skip(pps.ExtraSliceHeaderBits); // slice_reserved_flag
        int sliceType = r.ReadUe(2, "slice_type");
        bool b = sliceType == SliceB;
        if (pps.OutputFlagPresent) r.ReadFlag(); // pic_output_flag
        if (sps.SeparateColourPlane) r.Skip(2); // colour_plane_id
        int numPicTotalCurr = 0;
        bool temporalMvp = false;
        if (nalType is not (19 or 20)) // not IDR_W_RADL nor IDR_N_LP: an IDR picture has no references
        {
            r.Skip(sps.Log2MaxPocLsb); // slice_pic_order_cnt_lsb
            numPicTotalCurr = ShortTermPictures(ref r, sps);
            if (sps.LongTermPresent) numPicTotalCurr += LongTermPictures(ref r, sps, numPicTotalCurr);
            if (sps.TemporalMvp) temporalMvp = r.ReadFlag(); // slice_temporal_mvp_enabled_flag
        }
        bool saoLuma = false, saoChroma = false;
        if (sps.Sao)
        {
            saoLuma = r.ReadFlag(); // slice_sao_luma_flag
            if (sps.ChromaArrayType != 0) saoChroma = r.ReadFlag(); // slice_sao_chroma_flag
        }
        if (sliceType != SliceI)
        {
            int l0 = pps.RefIdxL0, l1 = pps.RefIdxL1;
            if (r.ReadFlag()) // num_ref_idx_active_override_flag
            {
                l0 = r.ReadUe(HevcParameterSets.MaxRefIdx - 1, "num_ref_idx_l0_active_minus1") + 1;
                if (b) l1 = r.ReadUe(HevcParameterSets.MaxRefIdx - 1, "num_ref_idx_l1_active_minus1") + 1;
            }
            if (pps.ListsModification && numPicTotalCurr > 1)
            {
                // ref_pic_lists_modification() (§7.3.6.2): each list_entry_lX names one of NumPicTotalCurr pictures.
                int bits = HevcSliceHeaders.CeilLog2(numPicTotalCurr);
                if (r.ReadFlag()) SkipListEntries(ref r, l0, bits, numPicTotalCurr); // ref_pic_list_modification_flag_l0
                if (b && r.ReadFlag()) SkipListEntries(ref r, l1, bits, numPicTotalCurr); // ref_pic_list_modification_flag_l1
            }
            if (b) r.ReadFlag(); // mvd_l1_zero_flag
            if (pps.CabacInitPresent) r.ReadFlag(); // cabac_init_flag
            if (temporalMvp)
            {
                bool fromL0 = !b || r.ReadFlag(); // collocated_from_l0_flag, 1 when absent
                int list = fromL0 ? l0 : l1;
                if (list > 1) r.ReadUe(list - 1, "collocated_ref_idx");
            }
            if ((pps.WeightedPred && sliceType == SliceP) || (pps.WeightedBipred && b))
            {
                // pred_weight_table() (§7.3.6.3)
                bool chroma = sps.ChromaArrayType != 0;
                r.ReadUe(7, "luma_log2_weight_denom");
                if (chroma) r.ReadSe(); // delta_chroma_log2_weight_denom
                SkipWeights(ref r, l0, chroma);
                if (b) SkipWeights(ref r, l1, chroma);
            }
            r.ReadUe(4, "five_minus_max_num_merge_cand");
        }
        r.ReadSe(); // slice_qp_delta
        if (pps.SliceChromaQpOffsets)
        {
            r.ReadSe(); // slice_cb_qp_offset
            r.ReadSe(); // slice_cr_qp_offset
        }
        if (pps.ChromaQpOffsetList) r.ReadFlag(); // cu_chroma_qp_offset_enabled_flag
        bool deblockingDisabled = pps.DeblockingDisabled; // slice_deblocking_filter_disabled_flag, the PPS's when absent
        if (pps.DeblockingOverride && r.ReadFlag()) // deblocking_filter_override_flag
        {
            deblockingDisabled = r.ReadFlag();
            if (!deblockingDisabled)
            {
                r.ReadSe(); // slice_beta_offset_div2
                r.ReadSe(); // slice_tc_offset_div2
            }
        }
        if (pps.LoopFilterAcrossSlices && (saoLuma || saoChroma || !deblockingDisabled))
            r.ReadFlag(); // slice_loop_filter_across_slices_enabled_flag
    }

    /// <summary>The slice's short-term reference picture set, its own or one of the SPS's; returns the pictures it uses.</summary>
    private static int ShortTermPictures(ref RbspBitReader r, HevcSpsFields sps)
    {
        var sets = sps.ShortTermSets;
        if (!r.ReadFlag()) // short_term_ref_pic_set_sps_flag
        {
            Span<int> deltaPocs = stackalloc int[HevcReferencePictureSets.MaxPictures];
            Span<bool> used = stackalloc bool[HevcReferencePictureSets.MaxPictures];
            int count = HevcReferencePictureSets.Read(ref r, sets, true, deltaPocs, used, out _);
            return used[..count].Count(true);
        }
        if (sets.Length == 0) throw new InvalidDataException("a slice names one of its sequence parameter set's reference picture sets, which has none");
        uint index = r.ReadBits(HevcSliceHeaders.CeilLog2(sets.Length)); // short_term_ref_pic_set_idx
        if (index >= sets.Length) throw new InvalidDataException($"short_term_ref_pic_set_idx is {index}, the sequence parameter set has {sets.Length}");
        return sets[index].UsedCount;
    }

    /// <summary>The slice's long-term pictures (§7.3.6.1), after <paramref name="shortTerm"/> short-term ones; returns the pictures it uses.</summary>
    private static int LongTermPictures(ref RbspBitReader r, HevcSpsFields sps, int shortTerm)
    {
        int candidates = sps.LongTermUsed.Length;
        int fromSps = candidates > 0 ? r.ReadUe(candidates, "num_long_term_sps") : 0;
        int own = r.ReadUe(HevcReferencePictureSets.MaxPictures - fromSps, "num_long_term_pics");
        int used = 0;
        for (int i = 0; i < fromSps + own; i++)
        {
            if (i < fromSps)
            {
                uint index = r.ReadBits(HevcSliceHeaders.CeilLog2(candidates)); // lt_idx_sps
                if (index >= candidates) throw new InvalidDataException($"lt_idx_sps is {index}, the sequence parameter set has {candidates}");
                if (sps.LongTermUsed[index]) used++;
            }
            else
            {
                r.Skip(sps.Log2MaxPocLsb); // poc_lsb_lt
                if (r.ReadFlag()) used++; // used_by_curr_pic_lt_flag
            }
            if (r.ReadFlag()) r.ReadUe(); // delta_poc_msb_present_flag, delta_poc_msb_cycle_lt
        }
        if (shortTerm + used > HevcReferencePictureSets.MaxPictures)
            throw new InvalidDataException($"a slice's current picture uses {shortTerm + used} reference pictures, more than {HevcReferencePictureSets.MaxPictures}");
        return used;
    }

    private static void SkipListEntries(ref RbspBitReader r, int count, int bits, int numPicTotalCurr)
    {
        for (int i = 0; i < count; i++)
        {
            uint entry = r.ReadBits(bits); // list_entry_lX
            if (entry >= numPicTotalCurr) throw new InvalidDataException($"list_entry is {entry}, the slice has {numPicTotalCurr} reference pictures");
        }
    }

    /// <summary>One list's weights (§7.3.6.3): all its luma flags, then all its chroma flags, then each picture's weights and offsets.</summary>
    private static void SkipWeights(ref RbspBitReader r, int count, bool chroma)
    {
        Span<bool> luma = stackalloc bool[HevcParameterSets.MaxRefIdx];
        Span<bool> chromaFlags = stackalloc bool[HevcParameterSets.MaxRefIdx];
        for (int i = 0; i < count; i++) luma[i] = r.ReadFlag(); // luma_weight_lX_flag
        if (chroma)
            for (int i = 0; i < count; i++) chromaFlags[i] = r.ReadFlag(); // chroma_weight_lX_flag
        for (int i = 0; i < count; i++)
        {
            if (luma[i])
            {
                r.ReadSe(); // delta_luma_weight_lX
                r.ReadSe(); // luma_offset_lX
            }
            if (chromaFlags[i])
                for (int j = 0; j < 4; j++) r.ReadSe(); // delta_chroma_weight_lX and delta_chroma_offset_lX, Cb and Cr
        }
    }
}
