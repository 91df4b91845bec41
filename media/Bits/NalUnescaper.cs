using System.Buffers;

namespace Broadcast.Media.Bits;

/// <summary>Parses an unescaped RBSP (the payload after the NAL unit header).</summary>
public delegate bool RbspParser<T>(ReadOnlySpan<byte> rbsp, out T value);

/// <summary>
/// Removes emulation-prevention bytes from a NAL unit (H.264 7.4.1, HEVC 7.4.2): inside a NAL unit the
/// sequence 00 00 03 stands for 00 00, the 03 being inserted so the payload never imitates a start code.
/// The RBSP must be unescaped before bit parsing or every field after the first 00 00 03 is shifted.
/// </summary>
public static class NalUnescaper
{
    /// <summary>A size that covers every parameter set seen in practice; callers stackalloc up to this.</summary>
    public const int StackLimit = 512;

    /// <summary>
    /// Copies <paramref name="nal"/> into <paramref name="destination"/> without emulation-prevention bytes and
    /// returns the number of bytes written. The output is never longer than the input, so a destination of
    /// <c>nal.Length</c> bytes always suffices; a shorter one gets -1.
    /// </summary>
    public static int Unescape(ReadOnlySpan<byte> nal, Span<byte> destination)
    {
        int written = 0;
        int zeros = 0;
        for (int i = 0; i < nal.Length; i++)
        {
            byte b = nal[i];
            if (zeros >= 2 && b == 3)
            {
                // Drop the 03; a following byte > 3 would be a malformed stream, but decoders keep going, so do we.
                zeros = 0;
                continue;
            }
            if (written >= destination.Length) return -1;
            destination[written++] = b;
            zeros = b == 0 ? zeros + 1 : 0;
        }
        return written;
    }

    /// <summary>
    /// Unescapes <paramref name="payload"/> (a NAL unit without its header) into a stack buffer, or a pooled one for
    /// the rare larger unit, and hands the RBSP to <paramref name="parse"/>.
    /// </summary>
    public static bool TryParse<T>(ReadOnlySpan<byte> payload, RbspParser<T> parse, out T value)
    {
        byte[]? rented = null;
        Span<byte> buffer = payload.Length <= StackLimit
            ? stackalloc byte[StackLimit]
            : (rented = ArrayPool<byte>.Shared.Rent(payload.Length));
        try
        {
            int length = Unescape(payload, buffer);
            return parse(buffer[..length], out value);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
