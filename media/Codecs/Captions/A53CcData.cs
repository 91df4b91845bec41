using System.Buffers.Binary;

namespace Broadcast.Media.Codecs.Captions;

/// <summary>
/// What one ATSC A/53 caption payload carries: the <c>cc_data()</c> of ATSC A/53 Part 4 section 6.2.3 (Table 6.5)
/// inside an ITU-T T.35 registered user data structure (country 0xB5 United States, provider 0x0031 ATSC, user
/// identifier "GA94", user_data_type_code 0x03). That is how CTA-608 (line 21) and CTA-708 (DTVCC) captions travel in
/// H.264 (SEI payloadType 4, H.264 D.1.6) and HEVC (prefix SEI, H.265 D.2.6). Only counts are kept: the packager needs
/// to know that a caption service is carried, players decode the bytes themselves.
/// </summary>
/// <param name="CcCount">cc_count: the constructs in the payload, valid or padding.</param>
/// <param name="ProcessCcData">process_cc_data_flag: when false, decoders ignore the constructs.</param>
/// <param name="Field1Pairs">Valid CTA-608 byte pairs of field 1 (cc_type 0: CC1/CC2, T1/T2).</param>
/// <param name="Field2Pairs">Valid CTA-608 byte pairs of field 2 (cc_type 1: CC3/CC4).</param>
/// <param name="DtvccConstructs">Valid CTA-708 DTVCC packet data or start constructs (cc_type 2 and 3).</param>
public readonly record struct A53CcData(int CcCount, bool ProcessCcData, int Field1Pairs, int Field2Pairs, int DtvccConstructs)
{
    /// <summary>itu_t_t35_country_code of the United States (ITU-T T.35 Annex A).</summary>
    public const byte CountryCode = 0xB5;

    /// <summary>itu_t_t35_provider_code assigned to ATSC.</summary>
    public const ushort ProviderCode = 0x0031;

    /// <summary>ATSC_user_identifier "GA94" (A/53 Part 4 Table 6.7).</summary>
    public const uint UserIdentifier = 0x47413934;

    /// <summary>user_data_type_code of cc_data() (A/53 Part 4 Table 6.9).</summary>
    public const byte CcDataTypeCode = 0x03;

    /// <summary>Bytes before the constructs: country, provider, identifier, type code, flags/cc_count, em_data.</summary>
    private const int HeaderLength = 1 + 2 + 4 + 1 + 1 + 1;

    /// <summary>
    /// A caption service is carried: cc_data that decoders are to process, with at least one construct. Caption inserters
    /// send it with every picture, padding included, so this holds from the first frames, before any caption text.
    /// </summary>
    public bool CarriesCaptions => ProcessCcData && CcCount > 0;

    /// <summary>
    /// Parses the payload of a <c>user_data_registered_itu_t_t35</c> SEI message, from its country code on. False for
    /// other registered user data (AFD, bar data, HDR10+ and the like are not captions) and for a truncated payload.
    /// Trailing bytes after the constructs (marker_bits, A/53 additional data) are allowed.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> t35, out A53CcData data)
    {
        data = default;
        if (t35.Length < HeaderLength) return false;
        if (t35[0] != CountryCode || BinaryPrimitives.ReadUInt16BigEndian(t35[1..]) != ProviderCode) return false;
        if (BinaryPrimitives.ReadUInt32BigEndian(t35[3..]) != UserIdentifier || t35[7] != CcDataTypeCode) return false;
        // reserved(1) process_cc_data_flag(1) zero_bit(1) cc_count(5), then em_data(8).
        byte flags = t35[8];
        bool process = (flags & 0x40) != 0;
        int count = flags & 0x1F;
        var constructs = t35[HeaderLength..];
        if (constructs.Length < count * 3) return false;
        int field1 = 0, field2 = 0, dtvcc = 0;
        for (int i = 0; i < count; i++)
        {
            // marker_bits(5) cc_valid(1) cc_type(2) cc_data_1(8) cc_data_2(8)
            byte head = constructs[i * 3];
            if ((head & 0x04) == 0) continue;
            switch (head & 0x03)
            {
                case 0: field1++; break;
                case 1: field2++; break;
                default: dtvcc++; break;
            }
        }
        data = new A53CcData(count, process, field1, field2, dtvcc);
        return true;
    }
}
