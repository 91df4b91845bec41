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

    [Fact]
    public void AStandingSurplusIsSkippedAfterAWindowSoTheSoundIsNotLateForTheRestOfTheProgram()
    {
        // A decoder that starts on a cached group of pictures: a burst of 20 frames, then one block per read, so the fill
        // would stand at 18 frames for good. After a window of 4 reads whose low water never fell to the prebuffer (2
        // frames), the surplus (16 frames: 32 samples) is skipped at once.
        var ring = new AudioRing(capacityFrames: 64, prebufferFrames: 2, trimWindowReads: 4);
        var block = new float[4];
        float next = 1;
        ring.Write(Samples(40));
        for (int i = 0; i < 4; i++)
        {
            Assert.True(ring.TryRead(block));
            Assert.Equal(1 + (4 * i), block[0]);
            ring.Write(Samples(4));
        }
        Assert.Equal(32, ring.Trimmed);
        Assert.Equal(0, ring.Dropped);
        // Samples 17 to 48 were skipped; the prebuffer's worth (49 to 52) and the block written since remain.
        Assert.Equal(8, ring.Count);
        Assert.True(ring.TryRead(block));
        Assert.Equal([49f, 50, 51, 52], block);

        float[] Samples(int count)
        {
            var samples = new float[count];
            for (int k = 0; k < count; k++) samples[k] = next++;
            return samples;
        }
    }

    [Fact]
    public void BurstsThatComeAndGoWithinAWindowAreNotTrimmed()
    {
        // Jitter: a write late (the read before it finds the prebuffer's cushion), then two at once. The low water falls
        // to the prebuffer in every window, so nothing is skipped and every sample comes out in order.
        var ring = new AudioRing(capacityFrames: 64, prebufferFrames: 2, trimWindowReads: 4);
        var block = new float[4];
        float written = 0, read = 0;
        Write(3);
        for (int i = 0; i < 24; i++)
        {
            Assert.True(ring.TryRead(block));
            foreach (float sample in block) Assert.Equal(++read, sample);
            Write(i % 3 == 0 ? 0 : i % 3 == 1 ? 2 : 1);
        }
        Assert.Equal(0, ring.Trimmed);

        void Write(int blocks)
        {
            var samples = new float[4 * blocks];
            for (int k = 0; k < samples.Length; k++) samples[k] = ++written;
            ring.Write(samples);
        }
    }
}
