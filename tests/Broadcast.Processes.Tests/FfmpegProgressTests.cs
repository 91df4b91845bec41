namespace Broadcast.Processes.Tests;

/// <summary>ffmpeg's <c>-progress</c> blocks, as the transcode reads them from stdout.</summary>
public sealed class FfmpegProgressTests
{
    [Fact]
    public void ProgressParsesBlocksAndWindowSpeed()
    {
        var p = new FfmpegProgress { WindowMs = 1000 };
        string[] block(long outUs, string speed) => ["frame=30", "fps=29.97", "drop_frames=2", $"out_time_us={outUs}", $"speed={speed}", "progress=continue"];
        foreach (var l in block(1_000_000, "0.5x")) p.OnLine(l, 0);
        Assert.Null(p.WindowSpeed);
        Assert.Equal(0.5, p.Speed);
        Assert.Equal(29.97, p.Fps);
        Assert.Equal(2, p.DroppedFrames);
        foreach (var l in block(2_000_000, "0.6x")) p.OnLine(l, 1000);
        Assert.Equal(1.0, p.WindowSpeed!.Value, 3);
        foreach (var l in block(2_500_000, "N/A")) p.OnLine(l, 2000);
        Assert.Equal(0.5, p.WindowSpeed!.Value, 3);
        Assert.Equal(0.6, p.Speed); // N/A keeps the last known value
        Assert.False(p.Ended);
        Assert.True(p.OnLine("progress=end", 2100));
        Assert.True(p.Ended);
        Assert.False(p.OnLine("garbage without equals", 2200));
    }
}
