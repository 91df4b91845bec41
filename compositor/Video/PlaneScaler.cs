using System.Numerics;
using Broadcast.Compositor.Layouts;

namespace Broadcast.Compositor.Video;

/// <summary>
/// Resizes one 8-bit plane from a source rectangle to a destination rectangle in integer fixed point (no floating
/// point per pixel): per destination row, the source rows it draws from are combined vertically into a row buffer,
/// then that row horizontally, with <see cref="ResampleTaps"/>' weights (bilinear when enlarging, area when reducing).
/// Samples never come from outside the crop. Tables and the row buffer are kept and grown, so steady state allocates
/// nothing.
/// </summary>
internal sealed class PlaneScaler
{
    // The row buffer holds vertically weighted values at 8 fractional bits: up to 255 · 2^8, and a horizontal sum of
    // those times 2^14 weights stays under 2^31.
    private const int RowShift = ResampleTaps.Bits - 8;
    private const int OutputShift = ResampleTaps.Bits + 8;

    private readonly ResampleTaps _columns = new(), _rows = new();
    private int[] _row = [];

    /// <summary>
    /// Draws <paramref name="crop"/> of <paramref name="source"/> into <paramref name="target"/> of
    /// <paramref name="destination"/>. With <paramref name="alpha"/> (0–255 at luma resolution, in rows of
    /// <paramref name="alphaStride"/>; <paramref name="alphaStep"/> 2 for a chroma plane) the result is blended over
    /// what is there; without, it replaces it.
    /// </summary>
    public void Scale(ReadOnlySpan<byte> source, int sourceStride, PixelRect crop, Span<byte> destination, int destinationStride, PixelRect target,
        ReadOnlySpan<byte> alpha = default, int alphaStride = 0, int alphaStep = 1)
    {
        if (crop.Width == target.Width && crop.Height == target.Height && alpha.IsEmpty)
        {
            // One to one: whole rows copied.
            for (int row = 0; row < target.Height; row++)
                source.Slice((crop.Y + row) * sourceStride + crop.X, crop.Width).CopyTo(destination.Slice((target.Y + row) * destinationStride + target.X, target.Width));
            return;
        }

        _columns.Build(crop.Width, target.Width);
        _rows.Build(crop.Height, target.Height);
        if (_row.Length < crop.Width) _row = new int[crop.Width];
        var buffer = _row.AsSpan(0, crop.Width);
        int[] firsts = _columns.FirstSamples, counts = _columns.Counts, offsets = _columns.Offsets, weights = _columns.AllWeights;
        for (int row = 0; row < target.Height; row++)
        {
            Vertical(source, sourceStride, crop, _rows.FirstSamples[row], _rows.Weights(row), buffer);
            var line = destination.Slice((target.Y + row) * destinationStride + target.X, target.Width);
            var alphaRow = alpha.IsEmpty ? default : alpha.Slice(row * alphaStep * alphaStride);
            var alphaBelow = alphaStep == 2 && !alpha.IsEmpty ? alpha.Slice(((row * 2) + 1) * alphaStride) : default;
            for (int x = 0; x < line.Length; x++)
            {
                int first = firsts[x], offset = offsets[x], count = counts[x];
                int sum = 0;
                for (int t = 0; t < count; t++) sum += buffer[first + t] * weights[offset + t];
                int value = (sum + (1 << (OutputShift - 1))) >> OutputShift;
                if (alphaRow.IsEmpty)
                {
                    line[x] = (byte)value;
                }
                else
                {
                    // A chroma sample takes the mean alpha of the 2×2 luma block it stands for.
                    int a = alphaStep == 2
                        ? (alphaRow[2 * x] + alphaRow[(2 * x) + 1] + alphaBelow[2 * x] + alphaBelow[(2 * x) + 1] + 2) >> 2
                        : alphaRow[x];
                    a += a >> 7; // 0–255 onto 0–256, so 255 is fully opaque
                    line[x] = (byte)(line[x] + (((value - line[x]) * a + 128) >> 8));
                }
            }
        }
    }

    /// <summary>Paints a rectangle of a plane one value.</summary>
    public static void Fill(Span<byte> plane, int stride, PixelRect rect, byte value)
    {
        for (int row = 0; row < rect.Height; row++) plane.Slice((rect.Y + row) * stride + rect.X, rect.Width).Fill(value);
    }

    /// <summary><paramref name="into"/> = <paramref name="from"/> moved <paramref name="weight"/>/256 of the way to <paramref name="to"/>.</summary>
    public static void Blend(ReadOnlySpan<byte> from, ReadOnlySpan<byte> to, int weight, Span<byte> into)
    {
        for (int i = 0; i < into.Length; i++) into[i] = (byte)(from[i] + (((to[i] - from[i]) * weight + 128) >> 8));
    }

    /// <summary>The crop's columns of the source rows <paramref name="first"/>… weighted and summed into <paramref name="buffer"/>.</summary>
    private static void Vertical(ReadOnlySpan<byte> source, int stride, PixelRect crop, int first, ReadOnlySpan<int> weights, Span<int> buffer)
    {
        // A single tap has weight One: the row at 8 fractional bits directly.
        if (weights.Length == 1)
        {
            MultiplyAdd(source.Slice((crop.Y + first) * stride + crop.X, crop.Width), 1 << 8, buffer, assign: true);
            return;
        }

        for (int t = 0; t < weights.Length; t++)
            MultiplyAdd(source.Slice((crop.Y + first + t) * stride + crop.X, crop.Width), weights[t], buffer, assign: t == 0);

        int x = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var round = new Vector<int>(1 << (RowShift - 1));
            for (; x <= buffer.Length - Vector<int>.Count; x += Vector<int>.Count)
                Vector.ShiftRightArithmetic(new Vector<int>(buffer[x..]) + round, RowShift).CopyTo(buffer[x..]);
        }

        for (; x < buffer.Length; x++) buffer[x] = (buffer[x] + (1 << (RowShift - 1))) >> RowShift;
    }

    /// <summary><paramref name="buffer"/> (=|+=) <paramref name="row"/> × <paramref name="weight"/>, a vector of pixels at a time where the CPU has vectors.</summary>
    private static void MultiplyAdd(ReadOnlySpan<byte> row, int weight, Span<int> buffer, bool assign)
    {
        int x = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var weights = new Vector<int>(weight);
            int lanes = Vector<int>.Count;
            for (; x <= row.Length - Vector<byte>.Count; x += Vector<byte>.Count)
            {
                Vector.Widen(new Vector<byte>(row[x..]), out Vector<ushort> low, out Vector<ushort> high);
                Vector.Widen(low, out Vector<uint> q0, out Vector<uint> q1);
                Vector.Widen(high, out Vector<uint> q2, out Vector<uint> q3);
                Accumulate(Vector.AsVectorInt32(q0) * weights, buffer.Slice(x, lanes), assign);
                Accumulate(Vector.AsVectorInt32(q1) * weights, buffer.Slice(x + lanes, lanes), assign);
                Accumulate(Vector.AsVectorInt32(q2) * weights, buffer.Slice(x + (2 * lanes), lanes), assign);
                Accumulate(Vector.AsVectorInt32(q3) * weights, buffer.Slice(x + (3 * lanes), lanes), assign);
            }
        }

        for (; x < row.Length; x++) buffer[x] = (assign ? 0 : buffer[x]) + (row[x] * weight);
    }

    private static void Accumulate(Vector<int> product, Span<int> into, bool assign) =>
        (assign ? product : product + new Vector<int>(into)).CopyTo(into);
}
