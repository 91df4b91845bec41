using Broadcast.TestSupport;
using Broadcast.Transcoder.Encoding;
using Broadcast.Transcoder.Ladder;

namespace Broadcast.Transcoder.Tests;

/// <summary>
/// CTA-608 captions through the transcoder, checked with ffmpeg's own caption decoder: the test clip carries what it was
/// made with, and the exact argument list a live session runs (one decode, split, scale, one encode per rung) gives
/// every rung the same captions.
/// </summary>
[Trait("Kind", "Component")]
public class CaptionTranscodeTests
{
    private static readonly PlannedRung[] Rungs = [new("270p", 480, 270, 500_000), new("180p", 320, 180, 250_000)];
    private const int Seconds = 6;

    private static IEnumerable<string> Expected => Enumerable.Range(0, Seconds).Select(CaptionClip.Text);

    [Fact]
    public async Task The_test_clip_carries_the_captions_it_was_made_with()
    {
        string clip = await CaptionClip.GetAsync(Seconds);
        Assert.Equal(Expected, await CaptionClip.DecodeAsync(clip));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Every_rung_keeps_the_source_captions(bool lowLatency)
    {
        string clip = await CaptionClip.GetAsync(Seconds);
        using var dir = new TempDirectory("captions");
        var outputs = Rungs.Select(r => dir.Combine(r.Name + ".flv")).ToArray();
        var args = FfmpegCommand.Build(new H264X264Backend(), Rungs, outputs, lowLatency);
        Assert.Equal("1", args[args.IndexOf("-a53cc") + 1]);
        args[args.IndexOf("pipe:0")] = clip;
        MediaTools.Run("ffmpeg", [.. args]);

        foreach (var output in outputs) Assert.Equal(Expected, await CaptionClip.DecodeAsync(output));
    }
}
