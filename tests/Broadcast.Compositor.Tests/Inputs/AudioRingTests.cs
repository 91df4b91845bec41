using Broadcast.Compositor.Inputs;

namespace Broadcast.Compositor.Tests.Inputs;

public sealed class AudioRingTests
{
    [Fact]
    public void ReadsInOrderOnceThePrebufferGathered()
    {
        var ring = new AudioRing(capacityFrames: 16, prebufferFrames: 2);
        var block = new float[4];
        ring.Write([1, 2, 3, 4]);
        Assert.False(ring.TryRead(block)); // a block is there, the prebuffer is not
        ring.Write([5, 6, 7, 8]);
        Assert.True(ring.TryRead(block));
        Assert.Equal([1f, 2, 3, 4], block);
        Assert.True(ring.TryRead(block));
        Assert.Equal([5f, 6, 7, 8], block);
        // A read that finds the ring dry: the next ones wait for the prebuffer again.
        Assert.False(ring.TryRead(block));
        ring.Write([9, 10, 11, 12]);
        Assert.False(ring.TryRead(block));
        Assert.Equal(4, ring.Count);
    }

    [Fact]
    public void AFullRingDropsTheOldestSamplesAcrossItsWrap()
    {
        var ring = new AudioRing(capacityFrames: 4, prebufferFrames: 0);
        var block = new float[4];
        ring.Write([1, 2, 3, 4, 5, 6]);
        Assert.True(ring.TryRead(block));
        Assert.Equal([1f, 2, 3, 4], block);
        ring.Write([7, 8, 9, 10, 11, 12, 13, 14]); // wraps, and two samples too many
        Assert.Equal(2, ring.Dropped);
        Assert.True(ring.TryRead(block));
        Assert.Equal([7f, 8, 9, 10], block);
        Assert.True(ring.TryRead(block));
        Assert.Equal([11f, 12, 13, 14], block);
        Assert.Equal(0, ring.Count);
    }
}
