using Broadcast.Compositor.Engine;
using Broadcast.Compositor.Inputs;
using Broadcast.Compositor.Layouts;
using Broadcast.Compositor.Video;
using Broadcast.TestSupport;

namespace Broadcast.Compositor.Tests.Engine;

/// <summary>
/// The control room's input previews: one tile per input, top to bottom in the order asked, each input's own picture
/// (letterboxed) or its placeholder while it has none, made into a real JPEG by ffmpeg and read back here.
/// </summary>
[Trait("Kind", "Component")]
public sealed class ProgramPreviewsTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 23, 22, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Each_input_gets_its_tile_in_order_with_its_picture_or_its_placeholder()
    {
        using var light = new Yuv420Frame(640, 360);
        light.Fill(200, 128, 128);
        var sources = new CompositionSources();
        sources.Frames["a"] = light; // "b" has no picture: its tile is the placeholder
        using var previews = new ProgramPreviews("ffmpeg");

        Assert.True(previews.Draw(["a", "b"], sources, At));
        await previews.Encoding.WaitAsync(TimeSpan.FromSeconds(30));
        var sheet = previews.Latest;
        Assert.NotNull(sheet);
        Assert.Equal(["a", "b"], sheet.Inputs);
        Assert.Equal((320, 180, At), (sheet.TileWidth, sheet.TileHeight, sheet.At));

        using var picture = await DecodeAsync(sheet.Jpeg, new PixelSize(320, 360));
        Assert.InRange(picture.Picture.Y[(90 * 320) + 160], 190, 210); // a's tile: its picture
        Assert.InRange(picture.Picture.Y[(270 * 320) + 160], FrameCompositor.PlaceholderLuma - 8, FrameCompositor.PlaceholderLuma + 8); // b's: the placeholder

        // Another set of inputs is planned again: one tile, b's picture now.
        sources.Frames.Remove("a");
        sources.Frames["b"] = light;
        Assert.True(previews.Draw(["b"], sources, At.AddSeconds(1)));
        await previews.Encoding.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(["b"], previews.Latest!.Inputs);
        using var single = await DecodeAsync(previews.Latest.Jpeg, new PixelSize(320, 180));
        Assert.InRange(single.Picture.Y[(90 * 320) + 160], 190, 210);
    }

    [Fact]
    public void Nothing_to_preview_draws_nothing()
    {
        using var previews = new ProgramPreviews("ffmpeg");
        Assert.False(previews.Draw([], new CompositionSources(), At));
        Assert.Null(previews.Latest);
    }

    [Fact]
    public async Task An_encoder_that_cannot_run_leaves_no_sheet_a_reason_and_the_next_second_tries_again()
    {
        var sources = new CompositionSources();
        using var previews = new ProgramPreviews("/nonexistent/ffmpeg");
        Assert.True(previews.Draw(["a"], sources, At));
        await previews.Encoding.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Null(previews.Latest);
        Assert.NotNull(previews.LastError);
        Assert.False(previews.Busy);
        Assert.True(previews.Draw(["a"], sources, At.AddSeconds(1)));
        await previews.Encoding.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Null(previews.Latest);
    }

    private static async Task<Yuva420Image> DecodeAsync(byte[] jpeg, PixelSize size)
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "sheet.jpg");
        await File.WriteAllBytesAsync(path, jpeg);
        return await ImageInput.DecodeAsync("ffmpeg", path, size, TimeSpan.FromSeconds(20), CancellationToken.None);
    }
}
