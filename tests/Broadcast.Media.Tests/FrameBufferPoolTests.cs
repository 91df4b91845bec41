namespace Broadcast.Media.Tests;

public class FrameBufferPoolTests
{
    private static readonly AudioTrack Audio = new(Codec.Aac, new byte[] { 0x11, 0x90 }, "mp4a.40.2", 48000, 2);

    [Theory]
    [InlineData(0, 256)]
    [InlineData(1, 256)]
    [InlineData(256, 256)]
    [InlineData(257, 512)]
    [InlineData(371, 512)]
    [InlineData(100_000, 131_072)]
    [InlineData(16 * 1024 * 1024, 16 * 1024 * 1024)]
    public void Rents_the_power_of_two_class_that_holds_the_length(int length, int expected)
    {
        byte[] array = FrameBufferPool.Rent(length);
        Assert.Equal(expected, array.Length);
        FrameBufferPool.Return(array);
    }

    [Fact]
    public void Larger_than_the_largest_class_is_allocated_exactly_and_not_kept()
    {
        byte[] array = FrameBufferPool.Rent(16 * 1024 * 1024 + 1);
        Assert.Equal(16 * 1024 * 1024 + 1, array.Length);
        long before = FrameBufferPool.RetainedBytes;
        FrameBufferPool.Return(array);
        Assert.Equal(before, FrameBufferPool.RetainedBytes);
    }

    [Fact]
    public void Arrays_the_pool_did_not_make_are_not_kept()
    {
        long before = FrameBufferPool.RetainedBytes;
        FrameBufferPool.Return(new byte[300]);
        Assert.Equal(before, FrameBufferPool.RetainedBytes);
    }

    [Fact]
    public void A_released_frame_payload_is_reused_by_the_next_frame_and_holds_the_new_bytes()
    {
        // An odd class size (1 MiB + 1 rounds to 2 MiB) no other test in this process rents.
        byte[] first = Enumerable.Repeat((byte)1, 1024 * 1024 + 1).ToArray();
        var a = MediaFrame.Rent(Audio, 0, 0, true, first);
        var bufferOfA = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(a.Data, out var segA) ? segA.Array : null;
        a.Release();

        byte[] second = Enumerable.Repeat((byte)2, 1024 * 1024 + 7).ToArray();
        var b = MediaFrame.Rent(Audio, 1024, 0, true, second);
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(b.Data, out var segB));
        Assert.Same(bufferOfA, segB.Array);
        Assert.Equal(second, b.Data.ToArray());
        b.Release();
    }
}
