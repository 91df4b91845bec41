using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Broadcast.Compositor.Layouts;

namespace Broadcast.Compositor.Video;

/// <summary>
/// Resizes one 8-bit plane from a source rectangle to a destination rectangle in integer fixed point (no floating
/// point per pixel): per destination row, the source rows it draws from are combined vertically into a row buffer,
/// then that row horizontally, with <see cref="ResampleTaps"/>' weights (bilinear when enlarging, area when reducing).
/// Samples never come from outside the crop. Tables and the row buffer are kept and grown, so steady state allocates
/// nothing. The horizontal pass is the hottest loop of a program (every pixel of every tile, 30 times a second): it runs
/// on taps padded to one count per sample, and the two-tap case sixteen samples at a time where the CPU has AVX2, with
/// the same integer arithmetic as the scalar loop (<c>PlaneScalerTests</c> holds them equal to the bit).
/// </summary>
internal sealed class PlaneScaler
{
    // The row buffer holds vertically weighted values at 8 fractional bits: up to 255 · 2^8, and a horizontal sum of
    // those times 2^14 weights stays under 2^31.
    private const int RowShift = ResampleTaps.Bits - 8;
    private const int OutputShift = ResampleTaps.Bits + 8;

    private readonly ResampleTaps _columns = new(), _rows = new();
    private int[] _row = [];
    private byte[] _scaled = [];

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
                source.Slice((crop.Y + row) * sourceStride + crop.X, crop.Width)
                    .CopyTo(destination.Slice((target.Y + row) * destinationStride + target.X, target.Width));
            return;
        }

        _columns.Build(crop.Width, target.Width);
        _rows.Build(crop.Height, target.Height);
        if (_row.Length < crop.Width) _row = new int[crop.Width];
        if (!alpha.IsEmpty && _scaled.Length < target.Width) _scaled = new byte[target.Width];
        var buffer = _row.AsSpan(0, crop.Width);
        for (int row = 0; row < target.Height; row++)
        {
            Vertical(source, sourceStride, crop, _rows.FirstSamples[row], _rows.Weights(row), buffer);
            var line = destination.Slice((target.Y + row) * destinationStride + target.X, target.Width);
            if (alpha.IsEmpty)
            {
                Horizontal(buffer, _columns, line);
                continue;
            }

            var scaled = _scaled.AsSpan(0, target.Width);
            Horizontal(buffer, _columns, scaled);
            var alphaRow = alpha.Slice(row * alphaStep * alphaStride);
            var alphaBelow = alphaStep == 2 ? alpha.Slice(((row * 2) + 1) * alphaStride) : default;
            for (int x = 0; x < line.Length; x++)
            {
                // A chroma sample takes the mean alpha of the 2×2 luma block it stands for.
                int a = alphaStep == 2
                    ? (alphaRow[2 * x] + alphaRow[(2 * x) + 1] + alphaBelow[2 * x] + alphaBelow[(2 * x) + 1] + 2) >> 2
                    : alphaRow[x];
                a += a >> 7; // 0–255 onto 0–256, so 255 is fully opaque
                line[x] = (byte)(line[x] + (((scaled[x] - line[x]) * a + 128) >> 8));
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

    /// <summary>
    /// <paramref name="line"/>'s samples from the vertically weighted <paramref name="buffer"/>, each the sum of its
    /// padded taps. The common tap counts (2 for enlargements and exact 2:1 reductions, 3 for other reductions up to 3:1)
    /// have loops of their own with the taps written out: the scaler's hottest loop, run for every pixel of every tile of every frame.
    /// </summary>
    private static void Horizontal(ReadOnlySpan<int> buffer, ResampleTaps columns, Span<byte> line)
    {
        const int Round = 1 << (OutputShift - 1);
        int taps = columns.Taps;
        ReadOnlySpan<int> firsts = columns.PaddedFirstSamples.AsSpan(0, line.Length);
        ReadOnlySpan<int> weights = columns.PaddedWeights.AsSpan(0, line.Length * taps);
        switch (taps)
        {
            case 1:
                for (int x = 0; x < line.Length; x++) line[x] = (byte)(((buffer[firsts[x]] * weights[x]) + Round) >> OutputShift);
                break;
            case 2:
                for (int x = Avx2.IsSupported ? TwoTapsAvx2(buffer, firsts, weights, line) : 0; x < line.Length; x++)
                {
                    var samples = buffer.Slice(firsts[x], 2);
                    var taken = weights.Slice(2 * x, 2);
                    line[x] = (byte)(((samples[0] * taken[0]) + (samples[1] * taken[1]) + Round) >> OutputShift);
                }

                break;
            case 3:
                for (int x = 0; x < line.Length; x++)
                {
                    var samples = buffer.Slice(firsts[x], 3);
                    var taken = weights.Slice(3 * x, 3);
                    line[x] = (byte)(((samples[0] * taken[0]) + (samples[1] * taken[1]) + (samples[2] * taken[2]) + Round) >> OutputShift);
                }

                break;
            default:
                for (int x = 0; x < line.Length; x++)
                {
                    var samples = buffer.Slice(firsts[x], taps);
                    var taken = weights.Slice(taps * x, taps);
                    int sum = Round;
                    for (int t = 0; t < taps; t++) sum += samples[t] * taken[t];
                    line[x] = (byte)(sum >> OutputShift);
                }

                break;
        }
    }

    /// <summary>
    /// The two-tap loop (bilinear enlarging, 2:1 reduction: side by side, grid) sixteen samples at a time, for as long as
    /// each eight samples' taps lie within sixteen row values from the first: those sixteen are loaded as two vectors and
    /// each tap picked from them by a lane permute. Answers where it stopped; the scalar loop does the rest, with the same
    /// integer arithmetic, so the result is the same to the bit.
    /// </summary>
    private static int TwoTapsAvx2(ReadOnlySpan<int> buffer, ReadOnlySpan<int> firsts, ReadOnlySpan<int> weights, Span<byte> line)
    {
        var round = Vector256.Create(1 << (OutputShift - 1));
        var seven = Vector256.Create(7);
        var one = Vector256.Create(1);
        var evensFirst = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
        int x = 0;
        for (; x + 16 <= line.Length; x += 16)
        {
            if (!TwoTapsOfEight(buffer, firsts.Slice(x, 8), weights.Slice(2 * x, 16), round, seven, one, evensFirst, out var low)
                || !TwoTapsOfEight(buffer, firsts.Slice(x + 8, 8), weights.Slice(2 * (x + 8), 16), round, seven, one, evensFirst, out var high))
            {
                break;
            }

            var shorts = Vector256.Narrow(low, high).AsUInt16();
            Vector256.Narrow(shorts, shorts).GetLower().CopyTo(line.Slice(x, 16));
        }

        return x;
    }

    private static bool TwoTapsOfEight(ReadOnlySpan<int> buffer, ReadOnlySpan<int> firsts, ReadOnlySpan<int> interleaved, Vector256<int> round,
        Vector256<int> seven, Vector256<int> one, Vector256<int> evensFirst, out Vector256<int> result)
    {
        int first = firsts[0];
        if (firsts[7] + 1 - first >= 16 || first + 16 > buffer.Length)
        {
            result = default;
            return false;
        }

        var window = buffer.Slice(first, 16);
        Vector256<int> lowWindow = Vector256.Create(window[..8]), highWindow = Vector256.Create(window[8..]);
        var at = Vector256.Create(firsts) - Vector256.Create(first);
        // Weights come as (w0, w1) pairs; gathered into the first taps' and the second taps' vectors.
        Vector256<int> pairsLow = Avx2.PermuteVar8x32(Vector256.Create(interleaved[..8]), evensFirst),
            pairsHigh = Avx2.PermuteVar8x32(Vector256.Create(interleaved[8..]), evensFirst);
        Vector256<int> firstWeights = Avx2.Permute2x128(pairsLow, pairsHigh, 0x20), secondWeights = Avx2.Permute2x128(pairsLow, pairsHigh, 0x31);
        var sum = (Pick(lowWindow, highWindow, at, seven) * firstWeights) + (Pick(lowWindow, highWindow, at + one, seven) * secondWeights) + round;
        result = Vector256.ShiftRightArithmetic(sum, OutputShift);
        return true;
    }

    /// <summary>Per lane, value <paramref name="at"/> (0–15) of the sixteen in <paramref name="low"/> then <paramref name="high"/>.</summary>
    private static Vector256<int> Pick(Vector256<int> low, Vector256<int> high, Vector256<int> at, Vector256<int> seven) =>
        Vector256.ConditionalSelect(Vector256.GreaterThan(at, seven), Avx2.PermuteVar8x32(high, at), Avx2.PermuteVar8x32(low, at));

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

    /// <summary><paramref name="buffer"/> (=|+=) <paramref name="row"/> × <paramref name="weight"/>,
    /// a vector of pixels at a time where the CPU has vectors.</summary>
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
