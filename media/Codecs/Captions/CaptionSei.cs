using Broadcast.Media.Bits;

namespace Broadcast.Media.Codecs.Captions;

/// <summary>
/// Finds ATSC A/53 captions (<see cref="A53CcData"/>) in one access unit of H.264 or HEVC in AVCC/HVCC framing (NAL
/// units after big-endian length prefixes, as <see cref="MediaFrame"/> payloads are). Only SEI NAL units are opened:
/// H.264 nal_unit_type 6 (7.3.2.3), HEVC prefix and suffix SEI, types 39 and 40 (7.3.2.4); their sei_message()s are
/// walked for payloadType 4, user_data_registered_itu_t_t35 (H.264 D.1.6, H.265 D.2.6). Nothing is allocated: an SEI is
/// unescaped into a stack buffer, or a pooled one when larger.
/// </summary>
public static class CaptionSei
{
    /// <summary>sei_message payloadType of user_data_registered_itu_t_t35.</summary>
    public const int RegisteredUserDataPayloadType = 4;

    private static readonly RbspParser<A53CcData> FindInRbsp = TryFindInSeiRbsp;

    /// <summary>
    /// The first A/53 caption payload of the access unit. False when there is none, when <paramref name="codec"/> is
    /// neither H.264 nor HEVC, and when the framing is broken (a length past the end): what came before is still searched.
    /// </summary>
    public static bool TryFind(ReadOnlySpan<byte> accessUnit, Codec codec, int nalLengthSize, out A53CcData data)
    {
        data = default;
        if (codec is not (Codec.H264 or Codec.H265) || nalLengthSize is not (1 or 2 or 4)) return false;
        int headerLength = codec == Codec.H264 ? 1 : 2;
        var rest = accessUnit;
        while (rest.Length >= nalLengthSize)
        {
            uint length = 0;
            for (int i = 0; i < nalLengthSize; i++) length = (length << 8) | rest[i];
            rest = rest[nalLengthSize..];
            if (length > (uint)rest.Length) return false;
            var nal = rest[..(int)length];
            rest = rest[(int)length..];
            if (nal.Length <= headerLength || !IsSei(nal, codec)) continue;
            if (NalUnescaper.TryParse(nal[headerLength..], FindInRbsp, out data)) return true;
        }
        return false;
    }

    private static bool IsSei(ReadOnlySpan<byte> nal, Codec codec) => codec == Codec.H264
        ? (nal[0] & 0x1F) == 6
        : ((nal[0] >> 1) & 0x3F) is 39 or 40;

    /// <summary>
    /// Walks the sei_message()s of an SEI RBSP (emulation prevention removed, NAL header stripped; H.264 7.3.2.3.1):
    /// payloadType and payloadSize each as a run of 0xFF bytes plus a last byte. Stops at rbsp_trailing_bits or at a
    /// message that claims more bytes than are left.
    /// </summary>
    public static bool TryFindInSeiRbsp(ReadOnlySpan<byte> rbsp, out A53CcData data)
    {
        data = default;
        var rest = rbsp;
        // more_rbsp_data(): a lone 0x80 is the stop bit and its alignment zeros.
        while (rest.Length > 1 || (rest.Length == 1 && rest[0] != 0x80))
        {
            if (!TryReadSeiNumber(ref rest, out int type) || !TryReadSeiNumber(ref rest, out int size)) return false;
            if (size > rest.Length) return false;
            if (type == RegisteredUserDataPayloadType && A53CcData.TryParse(rest[..size], out data)) return true;
            rest = rest[size..];
        }
        return false;
    }

    /// <summary>ff_byte(s) then last_payload_type_byte / last_payload_size_byte; bounded so a run of 0xFF cannot overflow.</summary>
    private static bool TryReadSeiNumber(ref ReadOnlySpan<byte> rest, out int value)
    {
        value = 0;
        while (!rest.IsEmpty)
        {
            byte b = rest[0];
            rest = rest[1..];
            value += b;
            if (b != 0xFF) return true;
            if (value > 1 << 24) return false;
        }
        return false;
    }
}
