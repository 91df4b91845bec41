using Broadcast.Compositor.Layouts;

namespace Broadcast.Compositor.Video;

/// <summary>
/// Bilinear scaling of one 8-bit plane from a source rectangle to a destination rectangle, in integer fixed point:
/// positions in 16.16, weights in 8 bits, no floating point per pixel. Sample centres are aligned (a destination
/// pixel's centre maps to the matching point of the source, as ffmpeg's bilinear scaler does), and samples past the
/// crop's edge repeat the edge, so a tile never bleeds in pixels from outside its crop. The per-column tables are kept
/// and grown, never shrunk, so steady state allocates nothing.
/// </summary>
internal sealed class PlaneScaler
{
    private const int WeightBits = 8, WeightOne = 1 << WeightBits;

    private int[] _column0 = [], _column1 = [], _columnWeight = [];

    /// <summary>
    /// Draws <paramref name="crop"/> of <paramref name="source"/> into <paramref name="target"/> of
    /// <paramref name="destination"/>. With <paramref name="alpha"/> (0–255, one value per destination pixel at
    /// <paramref name="alphaStep"/> × the position, in rows of <paramref name="alphaStride"/>) the result is blended
    /// over what is there; without, it replaces it.
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

        Columns(crop, target.Width);
        var column0 = _column0.AsSpan(0, target.Width);
        var column1 = _column1.AsSpan(0, target.Width);
        var columnWeight = _columnWeight.AsSpan(0, target.Width);
        for (int row = 0; row < target.Height; row++)
        {
            var (y0, y1, wy) = Tap(row, crop.Height, target.Height);
            var above = source.Slice((crop.Y + y0) * sourceStride);
            var below = source.Slice((crop.Y + y1) * sourceStride);
            var line = destination.Slice((target.Y + row) * destinationStride + target.X, target.Width);
            var alphaRow = alpha.IsEmpty ? default : alpha.Slice(row * alphaStep * alphaStride);
            for (int x = 0; x < line.Length; x++)
            {
                int a0 = column0[x], a1 = column1[x], wx = columnWeight[x];
                int top = above[a0] * (WeightOne - wx) + above[a1] * wx;
                int bottom = below[a0] * (WeightOne - wx) + below[a1] * wx;
                int value = (top * (WeightOne - wy) + bottom * wy + (1 << (2 * WeightBits - 1))) >> (2 * WeightBits);
                if (alphaRow.IsEmpty)
                {
                    line[x] = (byte)value;
                }
                else
                {
                    int a = alphaRow[x * alphaStep];
                    a += a >> 7; // 0–255 onto 0–256, so 255 is fully opaque
                    line[x] = (byte)(line[x] + (((value - line[x]) * a + (WeightOne / 2)) >> WeightBits));
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
        for (int i = 0; i < into.Length; i++) into[i] = (byte)(from[i] + (((to[i] - from[i]) * weight + (WeightOne / 2)) >> WeightBits));
    }

    private void Columns(PixelRect crop, int width)
    {
        if (_column0.Length < width)
        {
            _column0 = new int[width];
            _column1 = new int[width];
            _columnWeight = new int[width];
        }

        for (int x = 0; x < width; x++)
        {
            var (x0, x1, weight) = Tap(x, crop.Width, width);
            _column0[x] = crop.X + x0;
            _column1[x] = crop.X + x1;
            _columnWeight[x] = weight;
        }
    }

    /// <summary>The two source samples around destination sample <paramref name="index"/> and the second one's weight.</summary>
    private static (int First, int Second, int Weight) Tap(int index, int sourceLength, int targetLength)
    {
        // Centre-aligned: source position = (index + ½) · sourceLength / targetLength − ½, in 16.16.
        long position = (((2L * index) + 1) * sourceLength << 15) / targetLength - (1 << 15);
        if (position <= 0) return (0, 0, 0);
        int first = (int)(position >> 16);
        if (first >= sourceLength - 1) return (sourceLength - 1, sourceLength - 1, 0);
        return (first, first + 1, (int)(position >> (16 - WeightBits)) & (WeightOne - 1));
    }
}
