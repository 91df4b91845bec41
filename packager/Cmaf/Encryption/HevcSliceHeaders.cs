using Broadcast.Media.Codecs.Hevc;

namespace Broadcast.Packager.Cmaf.Encryption;

/// <summary>
/// How long an HEVC slice segment header is, in stored bytes, so it stays clear: ISO/IEC 23001-7:2016 keeps the NAL unit
/// header of every NAL unit clear and, for 'cbcs' (§10.4) as CMAF (ISO/IEC 23000-19) constrains it, starts the protected
/// data on the first byte of slice data after the slice segment header; the packager keeps it clear for 'cenc' too, as for
/// AVC (<see cref="AvcSliceHeaders"/>). The header's length depends on the sequence and picture parameter sets it names,
/// so they are kept here: those of the hvcC and any sent in band (NAL unit types 33 and 34; nothing of the slice segment
/// header depends on the video parameter set, type 32, which is not read). Parsed per ITU-T H.265 §7.3.2.2 (SPS, with
/// st_ref_pic_set §7.3.7), §7.3.2.3 (PPS) and §7.3.6.1 (slice segment header, through byte_alignment(), whose bits are
/// checked: a header misread would rarely end on them).
/// <para>
/// Coded slice segments are the VCL NAL unit types 0-31; the reserved ones (10-15, 22-31) have no syntax yet and, like
/// a layer other than the base layer (nuh_layer_id &gt; 0, whose slice headers Annex F extends), are refused. So are the
/// screen content coding extensions' parameter sets (<see cref="HevcParameterSets"/>). A refused parameter set is
/// forgotten, so the slices that name its id are refused rather than measured with its predecessor.
/// </para>
/// </summary>
public sealed class HevcSliceHeaders : ISliceHeaders
{
    private const int MaxSliceHeaderExtension = 256; // slice_segment_header_extension_length 0..256 (§7.4.7.1)

    private readonly HevcSpsFields?[] _sps = new HevcSpsFields?[HevcParameterSets.MaxSps];
    private readonly HevcPpsFields?[] _pps = new HevcPpsFields?[HevcParameterSets.MaxPps];

    /// <summary>The parameter sets of an HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1).</summary>
    public static HevcSliceHeaders FromDecoderConfig(ReadOnlySpan<byte> hvcC, out int nalLengthSize)
    {
        if (!HevcDecoderConfigurationRecord.TryRead(hvcC, out var record, out _))
            throw new InvalidDataException("not an HEVCDecoderConfigurationRecord");
        var sets = new HevcSliceHeaders();
        foreach (var array in record.Arrays)
            foreach (var nal in array.NalUnits)
                sets.Add(nal);
        nalLengthSize = record.NalLengthSize;
        return sets;
    }

    /// <summary>nal_unit_type of a NAL unit's two-byte header (§7.3.1.2), checked.</summary>
    private static int TypeOf(ReadOnlySpan<byte> nal, out int layer)
    {
        if (nal.Length < 2) throw new InvalidDataException("an HEVC NAL unit is shorter than its 2-byte header");
        if ((nal[0] & 0x80) != 0) throw new InvalidDataException("an HEVC NAL unit's forbidden_zero_bit is set");
        if ((nal[1] & 7) == 0) throw new InvalidDataException("an HEVC NAL unit's nuh_temporal_id_plus1 is 0");
        layer = (nal[0] & 1) << 5 | nal[1] >> 3;
        return (nal[0] >> 1) & 0x3F;
    }

    public bool IsSlice(ReadOnlySpan<byte> nal) => TypeOf(nal, out _) < 32;

    /// <summary>Takes a parameter set NAL unit (type 33 or 34 of the base layer; others are ignored).</summary>
    public void Add(ReadOnlySpan<byte> nal)
    {
        int type = TypeOf(nal, out int layer);
        if (layer != 0) return; // a parameter set of another layer never governs a base layer slice
        int id = -1;
        try
        {
            switch (type)
            {
                case 33:
                    var sps = HevcParameterSets.ReadSps(nal, out id);
                    _sps[id] = sps;
                    break;
                case 34:
                    var pps = HevcParameterSets.ReadPps(nal, out id);
                    _pps[id] = pps;
                    break;
            }
        }
        catch (InvalidDataException)
        {
            if (id >= 0 && type == 33) _sps[id] = null;
            if (id >= 0 && type == 34) _pps[id] = null;
            throw;
        }
    }

    /// <summary>
    /// Stored bytes of a coded slice segment NAL unit (type 0-9 or 16-21) taken by its two-byte NAL unit header and its
    /// slice_segment_header() (§7.3.6.1) up to and including byte_alignment().
    /// </summary>
    public int HeaderLength(ReadOnlySpan<byte> nal)
    {
        int type = TypeOf(nal, out int layer);
        if (type is (>= 10 and <= 15) or >= 22) throw new InvalidDataException($"NAL unit type {type} is a reserved VCL type, whose header has no syntax yet");
        if (layer != 0) throw new InvalidDataException($"a slice of layer {layer} (Annex F's slice header) is not read");
        var r = new RbspBitReader(nal, 2);
        bool first = r.ReadFlag(); // first_slice_segment_in_pic_flag
        if (type >= 16) r.ReadFlag(); // no_output_of_prior_pics_flag, of an IRAP picture (types 16-23)
        int ppsId = r.ReadUe(HevcParameterSets.MaxPps - 1, "slice_pic_parameter_set_id");
        var pps = _pps[ppsId] ?? throw new InvalidDataException($"a slice names picture parameter set {ppsId}, never given");
        var sps = _sps[pps.SpsId] ?? throw new InvalidDataException($"a picture parameter set names sequence parameter set {pps.SpsId}, never given");
        if (pps.Tiles && (pps.TileColumns > sps.PicWidthInCtbs || pps.TileRows > sps.PicHeightInCtbs))
            throw new InvalidDataException($"a picture parameter set's {pps.TileColumns}x{pps.TileRows} tiles do not fit its sequence's " +
                $"{sps.PicWidthInCtbs}x{sps.PicHeightInCtbs} coding tree blocks");
        bool dependent = false;
        if (!first)
        {
            if (pps.DependentSlices) dependent = r.ReadFlag(); // dependent_slice_segment_flag
            uint address = r.ReadBits(CeilLog2(sps.PicSizeInCtbs)); // slice_segment_address
            if (address >= sps.PicSizeInCtbs) throw new InvalidDataException($"slice_segment_address is {address}, past the picture's {sps.PicSizeInCtbs} coding tree blocks");
        }
        // A dependent slice segment takes these fields from the independent one before it (§7.4.7.1); none changes what follows.
        if (!dependent) HevcSliceSegmentFields.Read(ref r, type, pps, sps);
        if (pps.Tiles || pps.EntropySync)
        {
            // §7.4.7.1: one entry point per tile, or per CTB row (of each tile column, with both), after the first.
            int most = pps.Tiles && pps.EntropySync ? pps.TileColumns * sps.PicHeightInCtbs
                : pps.Tiles ? pps.TileColumns * pps.TileRows : sps.PicHeightInCtbs;
            int entryPoints = r.ReadUe(most - 1, "num_entry_point_offsets");
            if (entryPoints > 0)
            {
                int bits = r.ReadUe(31, "offset_len_minus1") + 1;
                for (int i = 0; i < entryPoints; i++) r.Skip(bits); // entry_point_offset_minus1
            }
        }
        if (pps.SliceHeaderExtension)
            r.Skip(8 * r.ReadUe(MaxSliceHeaderExtension, "slice_segment_header_extension_length")); // slice_segment_header_extension_data_byte
        // byte_alignment() (§7.3.2.12): a one, then zeros to the byte's end.
        if (!r.ReadFlag()) throw new InvalidDataException("a slice segment header does not end with alignment_bit_equal_to_one");
        while (!r.IsByteAligned)
            if (r.ReadFlag()) throw new InvalidDataException("a slice segment header's alignment_bit_equal_to_zero is one");
        return r.BytesConsumed;
    }

    /// <summary>Ceil(Log2(n)): the bits of a u(v) field that counts up to n - 1.</summary>
    internal static int CeilLog2(int n) => n <= 1 ? 0 : 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)(n - 1));
}
