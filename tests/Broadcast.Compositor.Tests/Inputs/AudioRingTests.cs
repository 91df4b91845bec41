using Broadcast.Compositor.Inputs;
using Broadcast.TestSupport;

namespace Broadcast.Compositor.Tests.Inputs;

public sealed class AudioRingTests
{
    // A clock that never moves: every sample arrives, and every read is due, at the same instant, so how late the sound
    // plays is the fill itself (these tests are about the ring's order, bounds and window).
    private static readonly ManualClock Frozen = new(DateTimeOffset.UnixEpoch);

    [Fact]
    public void ReadsInOrderOnceThePrebufferGathered()
    {
        var ring = new AudioRing(capacityFrames: 16, prebufferFrames: 2, time: Frozen);
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
        var ring = new AudioRing(capacityFrames: 4, prebufferFrames: 0, time: Frozen);
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
        // A decoder that starts on a cached group of pictures: a burst of two blocks more than the prebuffer (2 frames),
        // then one block per read, so the fill would stand a block above the prebuffer for good. After a window of 4 reads
        // whose low water never fell to the prebuffer, the surplus (a block: 4 samples) is skipped at once.
        var ring = new AudioRing(capacityFrames: 64, prebufferFrames: 2, trimWindowReads: 4, time: Frozen);
        var block = new float[4];
        float next = 1;
        ring.Write(Samples(12));
        for (int i = 0; i < 4; i++)
        {
            Assert.True(ring.TryRead(block));
            Assert.Equal(1 + (4 * i), block[0]);
            ring.Write(Samples(4));
        }
        Assert.Equal(4, ring.Trimmed);
        Assert.Equal(0, ring.Dropped);
        // Samples 17 to 20 were skipped; the prebuffer's worth (21 to 24) and the block written since remain.
        Assert.Equal(8, ring.Count);
        Assert.True(ring.TryRead(block));
        Assert.Equal([21f, 22, 23, 24], block);

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
        var ring = new AudioRing(capacityFrames: 64, prebufferFrames: 2, trimWindowReads: 4, time: Frozen);
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

    // Blocks of 48 frames: a millisecond each at 48 kHz, so a manual clock moves a block at a time.
    private const int MillisecondBlock = 96;

    [Fact]
    public void AfterAStallTheSoundSkipsWhatItsSilenceAlreadyStoodForSoItIsNotLateForTheRestOfTheProgram()
    {
        // One block arrives and one is read every millisecond, the fill standing at the prebuffer (2 blocks) after each
        // read. The decoder stalls for five: the ring gives what it held for two, the program plays silence for three, and
        // then the stalled sound arrives at once (six blocks). Played from its start it would stay three blocks later
        // than before for good, and a stall in every window keeps the low water at the prebuffer, so the window never
        // trims it. The ring sees the sound play three blocks later than it could have arrived, and skips down to the
        // prebuffer and two blocks' margin (two blocks skipped).
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        var ring = new AudioRing(capacityFrames: 4800, prebufferFrames: MillisecondBlock, trimWindowReads: 100_000, time: clock);
        var block = new float[MillisecondBlock];
        float next = 1;
        ring.Write(Blocks(3));
        Assert.True(ring.TryRead(block));
        Steady(20);
        Assert.Equal(2 * MillisecondBlock, ring.Count);
        Assert.Equal(0, ring.Trimmed);

        for (int i = 0; i < 5; i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(1));
            Assert.Equal(i < 2, ring.TryRead(block));
        }
        clock.Advance(TimeSpan.FromMilliseconds(1));
        float firstOfBurst = next;
        ring.Write(Blocks(6));
        Assert.True(ring.TryRead(block));
        Assert.Equal(firstOfBurst, block[0]);
        Assert.Equal(2 * MillisecondBlock, ring.Trimmed);
        Assert.Equal(3 * MillisecondBlock, ring.Count);
        Assert.True(ring.TryRead(block));
        Assert.Equal(firstOfBurst + (3 * MillisecondBlock), block[0]); // the second and third blocks stood for silence played

        // Back on time: a steady flow is played in full again.
        clock.Advance(TimeSpan.FromMilliseconds(1));
        ring.Write(Blocks(2));
        Steady(50);
        Assert.Equal(2 * MillisecondBlock, ring.Trimmed);

        void Steady(int milliseconds)
        {
            for (int i = 0; i < milliseconds; i++)
            {
                clock.Advance(TimeSpan.FromMilliseconds(1));
                ring.Write(Blocks(1));
                Assert.True(ring.TryRead(block));
            }
        }

        float[] Blocks(int count)
        {
            var samples = new float[count * MillisecondBlock];
            for (int k = 0; k < samples.Length; k++) samples[k] = next++;
            return samples;
        }
    }

    [Fact]
    public void TheWaitBeforeTheFirstSoundAndAfterAnInputLeftIsNotAStall()
    {
        // Reads that find nothing before the prebuffer first gathered are the start: the sound that then arrives is on
        // time, not late by the wait, and nothing is skipped. An input that left starts afresh the same way.
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        var ring = new AudioRing(capacityFrames: 4800, prebufferFrames: MillisecondBlock, trimWindowReads: 100_000, time: clock);
        var block = new float[MillisecondBlock];
        for (int round = 0; round < 2; round++)
        {
            for (int i = 0; i < 20; i++)
            {
                clock.Advance(TimeSpan.FromMilliseconds(1));
                Assert.False(ring.TryRead(block));
            }
            ring.Write(new float[3 * MillisecondBlock]);
            Assert.True(ring.TryRead(block));
            for (int i = 0; i < 20; i++)
            {
                clock.Advance(TimeSpan.FromMilliseconds(1));
                ring.Write(new float[MillisecondBlock]);
                Assert.True(ring.TryRead(block));
            }
            Assert.Equal(0, ring.Trimmed);
            ring.Clear();
        }
    }
}
