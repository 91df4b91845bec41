using System.Buffers;

namespace Broadcast.Media.Flv;

/// <summary>Handles one tag; returns false to stop reading the current buffer (the rest stays unconsumed).</summary>
public delegate bool FlvTagHandler(FlvTag tag);

/// <summary>
/// Reads an FLV byte stream as it arrives (a pipe from ffmpeg): the file header once, then every whole tag in each buffer.
/// Tags are small next to a pipe's segments, so a buffer is copied (pooled) only when it spans several segments.
/// </summary>
public sealed class FlvStreamReader
{
    private bool _headerRead;

    /// <summary>
    /// Hands each whole tag of <paramref name="buffer"/> to <paramref name="onTag"/> and returns how far the buffer was consumed.
    /// <paramref name="error"/> is set when the bytes can never be a tag (the stream is corrupt: stop reading it).
    /// </summary>
    public SequencePosition Read(ReadOnlySequence<byte> buffer, FlvTagHandler onTag, out string? error)
    {
        ArgumentNullException.ThrowIfNull(onTag);
        error = null;
        byte[]? rented = null;
        ReadOnlySpan<byte> span;
        if (buffer.IsSingleSegment) span = buffer.FirstSpan;
        else
        {
            rented = ArrayPool<byte>.Shared.Rent((int)buffer.Length);
            buffer.CopyTo(rented);
            span = rented.AsSpan(0, (int)buffer.Length);
        }
        try
        {
            int offset = 0;
            if (!_headerRead)
            {
                if (!FlvFileHeader.TryRead(span, out _, out int c))
                {
                    // Too short yet is a wait; bytes that can never be the header are an error (an HTML page, a wrong URL).
                    if (FlvFileHeader.CanNeverStart(span, out string reason)) error = reason;
                    return buffer.Start;
                }

                offset = c;
                _headerRead = true;
            }
            while (FlvTag.TryRead(span[offset..], out var tag, out int consumed, out error))
            {
                offset += consumed;
                if (!onTag(tag)) break;
            }
            return buffer.GetPosition(offset);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
