using Broadcast.Compositor.Inputs;
using Broadcast.Compositor.Layouts;
using Broadcast.Media.Codecs.Images;
using Broadcast.TestSupport;

namespace Broadcast.Compositor.Tests.Inputs;

[Trait("Kind", "Component")]
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

    [Fact]
    public async Task DecodesAJpegOpaque()
    {
        using var dir = new TempDirectory();
        string jpeg = Path.Combine(dir.Path, "slate.jpg");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=blue:s=100x50", "-frames:v", "1", jpeg);

        using var image = await ImageInput.DecodeAsync("ffmpeg", jpeg, new PixelSize(64, 32), TimeSpan.FromSeconds(20), CancellationToken.None);

        Assert.Equal(255, image.Alpha[(16 * 64) + 32]);
        Assert.InRange(image.Picture.Y[(16 * 64) + 32], 36, 46);
    }

    // Bytes that are no PNG or JPEG, each refused before ffmpeg sees them. The playlist is the attack: left to probing,
    // ffmpeg would open it as HLS and fetch its http:// segment.
    public static TheoryData<string, byte[]> NotImages => new()
    {
        { "an HLS playlist", "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nhttp://127.0.0.1:9/segment.ts\n#EXT-X-ENDLIST\n"u8.ToArray() },
        { "a GIF", "GIF89a\u0001\0\u0001\0\0\0\0;"u8.ToArray() },
        { "a PNG signature cut short", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A] },
        { "a JPEG marker cut short", [0xFF, 0xD8] },
        { "nothing", [] },
    };

    [Theory]
    [MemberData(nameof(NotImages))]
    public async Task BytesWithoutAPngOrJpegSignatureAreRefused(string name, byte[] bytes)
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "logo.png");
        await File.WriteAllBytesAsync(path, bytes);

        // "false" would fail with its own message if it were run at all: the refusal comes first.
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ImageInput.DecodeAsync("false", path, new PixelSize(64, 32), TimeSpan.FromSeconds(20), CancellationToken.None));
        Assert.True(error.Message.Contains("neither a PNG nor a JPEG", StringComparison.Ordinal), $"{name}: {error.Message}");
    }

    [Theory]
    [InlineData(StillImageFormat.Png, "png_pipe")]
    [InlineData(StillImageFormat.Jpeg, "jpeg_pipe")]
    public void FfmpegReadsOnlyTheFileAndOnlyAsItsFormat(StillImageFormat format, string demuxer)
    {
        var args = ImageInput.Arguments("/tmp/x", format, new PixelSize(64, 32));

        int input = Array.IndexOf(args, "-i");
        Assert.Equal("file:/tmp/x", args[input + 1]);
        int whitelist = Array.IndexOf(args, "-protocol_whitelist");
        Assert.True(whitelist >= 0 && whitelist < input, "the whitelist is an option of the input");
        Assert.Equal("file", args[whitelist + 1]);
        int forced = Array.IndexOf(args, "-f");
        Assert.True(forced >= 0 && forced < input, "the demuxer is forced on the input");
        Assert.Equal(demuxer, args[forced + 1]);
    }
}
