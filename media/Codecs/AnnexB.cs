namespace Broadcast.Media.Codecs;

/// <summary>
/// Splits an Annex B byte stream (H.264/HEVC B.2: NAL units after 00 00 01 or 00 00 00 01 start codes), as
/// raw .h264/.hevc files and MPEG-TS carry it, into NAL units without their start codes.
/// </summary>
public ref struct AnnexBReader
{
    private ReadOnlySpan<byte> _rest;

    public AnnexBReader(ReadOnlySpan<byte> stream)
    {
        int start = FindStartCode(stream, 0, out int codeLength);
        _rest = start < 0 ? ReadOnlySpan<byte>.Empty : stream[(start + codeLength)..];
    }

    public bool TryReadNext(out ReadOnlySpan<byte> nal)
    {
        while (!_rest.IsEmpty)
        {
            int next = FindStartCode(_rest, 0, out int codeLength);
            if (next < 0)
            {
                nal = TrimTrailingZeros(_rest);
                _rest = ReadOnlySpan<byte>.Empty;
            }
            else
            {
                nal = TrimTrailingZeros(_rest[..next]);
                _rest = _rest[(next + codeLength)..];
            }
            if (!nal.IsEmpty) return true;
        }
        nal = default;
        return false;
    }

    private static ReadOnlySpan<byte> TrimTrailingZeros(ReadOnlySpan<byte> nal)
    {
        int end = nal.Length;
        while (end > 0 && nal[end - 1] == 0) end--; // trailing_zero_8bits belong to the byte stream, not the NAL
        return nal[..end];
    }

    private static int FindStartCode(ReadOnlySpan<byte> data, int from, out int length)
    {
        for (int i = from; i + 2 < data.Length; i++)
        {
            if (data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1)
            {
                length = 3;
                return i;
            }
        }
        length = 0;
        return -1;
    }
}
