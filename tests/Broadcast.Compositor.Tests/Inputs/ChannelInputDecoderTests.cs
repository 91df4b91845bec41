using Broadcast.Compositor.Audio;
using Broadcast.Compositor.Inputs;
using Broadcast.Compositor.Layouts;
using Broadcast.Media;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Compositor.Tests.Inputs;

/// <summary>Component tests with the real ffmpeg: a live channel in a hub decoded to raw pictures and samples.</summary>
[Trait("Kind", "Component")]
public sealed class ChannelInputDecoderTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);

    [Fact]
    public void PictureSizeFitsTheCanvasKeepingAspectAndEven()
    {
        var canvas = new PixelSize(1280, 720);
        Assert.Equal(new PixelSize(1280, 720), InputDecoder.FitWithin(new PixelSize(640, 360), canvas));
        Assert.Equal(new PixelSize(960, 720), InputDecoder.FitWithin(new PixelSize(640, 480), canvas));
        Assert.Equal(new PixelSize(404, 720), InputDecoder.FitWithin(new PixelSize(1080, 1920), canvas));
        Assert.Equal(new PixelSize(1280, 548), InputDecoder.FitWithin(new PixelSize(2560, 1097), canvas));
    }

    [Theory]
    [InlineData("30", 30, 300)]    // the program's own rate, millisecond timestamps (33, 67, 100 ms): every picture
    [InlineData("30000/1001", 30, 300)]
    [InlineData("25", 30, 250)]    // slower than the program: every picture
    [InlineData("60", 30, 300)]    // every other picture
    [InlineData("50", 30, 300)]    // three of five
    [InlineData("60", 25, 250)]
    public void FrameSelectionThinsToOnePicturePerProgramFrameAndNoFewer(string inputRate, int programRate, int expectedPictures)
    {
        // Ten seconds through FLV, as the hub hands a channel to its decoder, then the decoder's selection: the pictures
        // that come out are the pictures the program gets.
        using var directory = new TempDirectory("frame-select");
        string flv = Path.Combine(directory.Path, "input.flv");
        MediaTools.Run("ffmpeg", "-v", "error", "-f", "lavfi", "-i", $"testsrc2=size=160x90:rate={inputRate}", "-t", "10",
            "-c:v", "libx264", "-preset", "ultrafast", "-f", "flv", flv);
        string frames = MediaTools.Run("ffprobe", "-v", "error", "-f", "lavfi",
            $"movie={flv},{InputDecoder.FrameSelectFilter(new ProgramClock(programRate))}", "-show_entries", "frame=pts_time", "-of", "csv=p=0");
        Assert.Equal(expectedPictures, frames.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task AChannelOfSoundAloneIsDecodedAsSoundAndHasNoPicture()
    {
        // A music bed or a radio feed: sound flows and no video track is ever declared. After Options.AudioOnlyWait the
        // input is present with its sound and no picture (a tile that places it shows its placeholder); when its publish
        // ends it goes missing like any other.
        var registry = new LiveStreamRegistry();
        var options = new InputDecoderOptions("ffmpeg", new PixelSize(640, 360), new ProgramClock(30));
        await using var decoder = new ChannelInputDecoder("bed", "radio", registry, options, NullLogger.Instance);
        decoder.Start();
        var feed = ChannelFeed.StartSoundOnly(registry, "radio", 440);
        // A block of 4096 frames past the ring's prebuffer (2048 frames).
        await WaitFor.ConditionAsync(() => decoder.IsPresent && decoder.Audio.Count >= (4096 + 2048) * 2, Bound, "the channel's sound decoded");
        Assert.Null(decoder.Video);
        var samples = new float[4096 * 2];
        Assert.True(decoder.Audio.TryRead(samples));
        Assert.True(ToneLevel.Amplitude(samples, 440) > 0.05, "the 440 Hz tone is in the decoded samples");

        await feed.DisposeAsync();
        await WaitFor.ConditionAsync(() => !decoder.IsPresent, Bound, "the input missing once the channel ended");
    }

    [Fact]
    public async Task DecodesTheChannelGoesMissingWhenItEndsAndReturnsWhenItPublishesAgain()
    {
        var registry = new LiveStreamRegistry();
        var options = new InputDecoderOptions("ffmpeg", new PixelSize(640, 360), new ProgramClock(30));
        await using var decoder = new ChannelInputDecoder("guest", "red", registry, options, NullLogger.Instance);
        decoder.Start();
        Assert.False(decoder.IsPresent);

        var feed = ChannelFeed.Start(registry, "red", "red", 440);
        await WaitFor.ConditionAsync(() => decoder.IsPresent && decoder.Audio.Count >= 4096 * 2, Bound, "the channel's pictures and samples decoded");
        AssertRed(decoder);
        var samples = new float[4096 * 2];
        Assert.True(decoder.Audio.TryRead(samples));
        Assert.True(ToneLevel.Amplitude(samples, 440) > 0.05, "the 440 Hz tone is in the decoded samples");
        Assert.True(ToneLevel.Amplitude(samples, 1000) < 0.01, "no 1 kHz in them");

        await feed.DisposeAsync();
        await WaitFor.ConditionAsync(() => !decoder.IsPresent, Bound, "the input reported missing once the channel ended");

        await using var again = ChannelFeed.Start(registry, "red", "red", 440);
        long before = decoder.Video!.Published;
        await WaitFor.ConditionAsync(() => decoder.IsPresent && decoder.Video!.Published > before, Bound, "the input back once the channel published again");
        AssertRed(decoder);
        Assert.Equal(2, decoder.Attempts);
    }

    private static void AssertRed(ChannelInputDecoder decoder)
    {
        var frame = decoder.Video!.Read()!;
        Assert.Equal(new PixelSize(640, 360), frame.Size);
        int centre = (frame.Height / 2 * frame.Width) + (frame.Width / 2);
        int chroma = (frame.ChromaHeight / 2 * frame.ChromaWidth) + (frame.ChromaWidth / 2);
        // Pure red in BT.601 limited range is Y 81, U 90, V 240.
        Assert.InRange(frame.Y[centre], 76, 86);
        Assert.InRange(frame.U[chroma], 85, 95);
        Assert.InRange(frame.V[chroma], 235, 245);
    }
}
