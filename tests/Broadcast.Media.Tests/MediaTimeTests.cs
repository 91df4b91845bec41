using Broadcast.Media;

namespace Broadcast.Media.Tests;

public class MediaTimeTests
{
    public static TheoryData<string, long, int, int, long> RescaleCases => new()
    {
        { "ms to 90k", 1000, 1000, 90000, 90000 },
        { "ms to 44.1k rounds to nearest", 23, 1000, 44100, 1014 },
        { "90k to ms", 3003, 90000, 1000, 33 },
        { "negative rounds away from zero at half", -3, 2, 1, -2 },
        { "large value does not overflow", long.MaxValue / 2, 90000, 90000, long.MaxValue / 2 },
        { "one year of 90 kHz ticks to 48 kHz", 90000L * 31_536_000, 90000, 48000, 48000L * 31_536_000 },
    };

    [Theory]
    [MemberData(nameof(RescaleCases))]
    public void Rescale(string name, long ticks, int from, int to, long expected)
    {
        Assert.True(name.Length > 0);
        Assert.Equal(expected, Timescales.Rescale(ticks, from, to));
    }

    [Fact]
    public void RescaleFloor_never_rounds_up()
    {
        Assert.Equal(1, Timescales.RescaleFloor(179_999, 90000, 1));
        Assert.Equal(-1, Timescales.RescaleFloor(-1, 90000, 1));
    }

    [Fact]
    public void Unwrapper_carries_past_32_bits_and_tolerates_small_reordering()
    {
        var u = new TimestampUnwrapper();
        Assert.Equal(4_294_967_000L, u.Unwrap(4_294_967_000));
        Assert.Equal(4_294_967_290L, u.Unwrap(4_294_967_290));
        Assert.Equal(4_294_967_296L + 100, u.Unwrap(100));
        Assert.Equal(4_294_967_296L + 50, u.Unwrap(50)); // a frame slightly out of order after the wrap
        Assert.Equal(4_294_967_290L, u.Unwrap(4_294_967_290)); // and one from just before it
        Assert.Equal(2 * 4_294_967_296L + 5, new Func<long>(() =>
        {
            var w = new TimestampUnwrapper();
            w.Unwrap(0);
            for (long t = 1_000_000_000; t <= 2 * 4_294_967_296L + 5; t += 1_000_000_000) w.Unwrap((uint)(t & 0xFFFFFFFF));
            return w.Unwrap(5);
        })());
    }

    [Theory]
    [InlineData(29.97, 30000, 1001)]
    [InlineData(30.0, 30, 1)]
    [InlineData(59.94, 60000, 1001)]
    [InlineData(25.0, 25, 1)]
    [InlineData(12.5, 12500, 1000)]
    public void FrameRate_from_encoder_metadata(double fps, int num, int den) =>
        Assert.Equal(new FrameRate(num, den), FrameRate.FromDouble(fps));

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(1e9)]
    public void FrameRate_rejects_nonsense(double fps) => Assert.Null(FrameRate.FromDouble(fps));
}
