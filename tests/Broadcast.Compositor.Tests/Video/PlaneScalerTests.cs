using Broadcast.Compositor.Layouts;
using Broadcast.Compositor.Video;

namespace Broadcast.Compositor.Tests.Video;

/// <summary>
/// The scaler's fast loops (padded taps, the vectored two-tap loop where the CPU has AVX2) against the resize written
/// out the slow way from the same taps: vertical sum at 8 fractional bits, then horizontal, each rounded as the scaler
/// documents. Equal to the bit, for reductions, enlargements, odd sizes, crops and blends.
/// </summary>
public sealed class PlaneScalerTests
{
    /// <summary>crop width, crop height, target width, target height: 2:1 (side by side, grid), insets, enlargements, odd and tiny sizes.</summary>
    public static TheoryData<int, int, int, int> Resizes() => new()
    {
        { 1280, 720, 640, 360 },
        { 640, 360, 320, 180 },
        { 1280, 720, 384, 216 },
        { 1280, 720, 1920, 1080 },
        { 640, 360, 853, 480 },
        { 333, 101, 517, 77 },
        { 97, 45, 31, 200 },
        { 17, 3, 16, 48 },
        { 1, 1, 40, 2 },
        { 40, 2, 1, 1 },
    };

    [Theory]
    [MemberData(nameof(Resizes))]
    public void A_resize_equals_the_same_taps_applied_one_sample_at_a_time(int cropWidth, int cropHeight, int targetWidth, int targetHeight)
    {
        var random = new Random(cropWidth * 31 + targetWidth);
        const int SourceStride = 1300, DestinationStride = 1930;
        var source = new byte[SourceStride * (cropHeight + 5)];
        random.NextBytes(source);
        var crop = new PixelRect(3, 5, cropWidth, cropHeight);
        var target = new PixelRect(7, 1, targetWidth, targetHeight);
        var destination = new byte[DestinationStride * (targetHeight + 2)];
        random.NextBytes(destination);
        var expected = (byte[])destination.Clone();

        new PlaneScaler().Scale(source, SourceStride, crop, destination, DestinationStride, target);
        Reference(source, SourceStride, crop, expected, DestinationStride, target);

        Assert.Equal(expected, destination);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_blend_over_the_canvas_equals_the_slow_resize_blended_with_the_same_alpha(int alphaStep)
    {
        var random = new Random(alphaStep);
        int cropWidth = 320, cropHeight = 90, targetWidth = 480, targetHeight = 120;
        var source = new byte[cropWidth * cropHeight];
        random.NextBytes(source);
        int alphaStride = targetWidth * alphaStep;
        var alpha = new byte[alphaStride * targetHeight * alphaStep];
        random.NextBytes(alpha);
        var destination = new byte[targetWidth * targetHeight];
        random.NextBytes(destination);
        var expected = (byte[])destination.Clone();
        var whole = new PixelRect(0, 0, targetWidth, targetHeight);

        new PlaneScaler().Scale(source, cropWidth, new PixelRect(0, 0, cropWidth, cropHeight), destination, targetWidth, whole, alpha, alphaStride, alphaStep);
        var scaled = new byte[targetWidth * targetHeight];
        Reference(source, cropWidth, new PixelRect(0, 0, cropWidth, cropHeight), scaled, targetWidth, whole);
        for (int row = 0; row < targetHeight; row++)
        {
            for (int x = 0; x < targetWidth; x++)
            {
                int a = alphaStep == 2
                    ? (alpha[(2 * row * alphaStride) + (2 * x)] + alpha[(2 * row * alphaStride) + (2 * x) + 1]
                        + alpha[(((2 * row) + 1) * alphaStride) + (2 * x)] + alpha[(((2 * row) + 1) * alphaStride) + (2 * x) + 1] + 2) >> 2
                    : alpha[(row * alphaStride) + x];
                a += a >> 7;
                int at = (row * targetWidth) + x;
                expected[at] = (byte)(expected[at] + (((scaled[at] - expected[at]) * a + 128) >> 8));
            }
        }

        Assert.Equal(expected, destination);
    }

    /// <summary>The resize one target sample at a time, from <see cref="ResampleTaps"/>' own runs of weights.</summary>
    private static void Reference(byte[] source, int sourceStride, PixelRect crop, byte[] destination, int destinationStride, PixelRect target)
    {
        if (crop.Width == target.Width && crop.Height == target.Height)
        {
            for (int row = 0; row < target.Height; row++)
                Array.Copy(source, ((crop.Y + row) * sourceStride) + crop.X, destination, ((target.Y + row) * destinationStride) + target.X, crop.Width);
            return;
        }

        var columns = new ResampleTaps();
        var rows = new ResampleTaps();
        columns.Build(crop.Width, target.Width);
        rows.Build(crop.Height, target.Height);
        const int RowShift = ResampleTaps.Bits - 8, OutputShift = ResampleTaps.Bits + 8;
        var vertical = new int[crop.Width];
        for (int row = 0; row < target.Height; row++)
        {
            var rowWeights = rows.Weights(row);
            for (int column = 0; column < crop.Width; column++)
            {
                int sum = 0;
                for (int t = 0; t < rowWeights.Length; t++) sum += source[((crop.Y + rows.FirstSamples[row] + t) * sourceStride) + crop.X + column] * rowWeights[t];
                // A single tap is the sample at 8 fractional bits, unrounded; more are rounded from 14 bits down to 8.
                vertical[column] = rowWeights.Length == 1 ? source[((crop.Y + rows.FirstSamples[row]) * sourceStride) + crop.X + column] << 8 : (sum + (1 << (RowShift - 1))) >> RowShift;
            }

            for (int x = 0; x < target.Width; x++)
            {
                var columnWeights = columns.Weights(x);
                int sum = 0;
                for (int t = 0; t < columnWeights.Length; t++) sum += vertical[columns.FirstSamples[x] + t] * columnWeights[t];
                destination[((target.Y + row) * destinationStride) + target.X + x] = (byte)((sum + (1 << (OutputShift - 1))) >> OutputShift);
            }
        }
    }
}
