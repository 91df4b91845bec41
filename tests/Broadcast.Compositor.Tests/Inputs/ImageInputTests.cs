using Broadcast.Compositor.Inputs;
using Broadcast.Compositor.Layouts;
using Broadcast.TestSupport;

namespace Broadcast.Compositor.Tests.Inputs;

public sealed class ImageInputTests
{
    [Fact]
    public async Task DecodesAPngWithItsAlphaAtTheAskedSize()
    {
        using var dir = new TempDirectory();
        string png = Path.Combine(dir.Path, "logo.png");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=blue@0.5:s=100x50,format=rgba", "-frames:v", "1", png);

        using var image = await ImageInput.DecodeAsync("ffmpeg", png, new PixelSize(64, 32), TimeSpan.FromSeconds(20), CancellationToken.None);

        Assert.Equal(64, image.Width);
        Assert.InRange(image.Alpha[(16 * 64) + 32], 120, 136);
        // Pure blue in BT.601 limited range is Y 41, U 240, V 110.
        Assert.InRange(image.Picture.Y[(16 * 64) + 32], 36, 46);
        Assert.InRange(image.Picture.U[(8 * 32) + 16], 235, 245);
    }

    [Fact]
    public async Task ANonImageIsAClearError()
    {
        using var dir = new TempDirectory();
        string bogus = Path.Combine(dir.Path, "bogus.png");
        await File.WriteAllTextAsync(bogus, "not a picture");
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ImageInput.DecodeAsync("ffmpeg", bogus, new PixelSize(64, 32), TimeSpan.FromSeconds(20), CancellationToken.None));
        Assert.Contains("bogus.png", error.Message);
    }
}
