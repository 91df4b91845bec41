using System.Globalization;
using Broadcast.Compositor.Layouts;
using Broadcast.Compositor.Video;
using Broadcast.Processes;

namespace Broadcast.Compositor.Inputs;

/// <summary>
/// A still image input (a logo, a lower third, a slate card): a PNG or JPEG decoded once by ffmpeg to
/// <c>yuva420p</c> at the size it is drawn at. A JPEG has no alpha and comes out opaque.
/// </summary>
public static class ImageInput
{
    public static async Task<Yuva420Image> DecodeAsync(string ffmpegPath, string path, PixelSize size, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (size.Width < 2 || size.Height < 2 || size.Width % 2 != 0 || size.Height % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(size), $"{size}: an image is decoded at an even size");
        if (!File.Exists(path)) throw new FileNotFoundException($"image '{path}' does not exist", path);
        string[] args =
        [
            "-hide_banner", "-nostdin", "-loglevel", "error", "-i", path, "-frames:v", "1",
            "-vf", string.Create(CultureInfo.InvariantCulture, $"scale={size.Width}:{size.Height}:flags=area,format=yuva420p"),
            "-f", "rawvideo", "-pix_fmt", "yuva420p", "pipe:1",
        ];
        var result = await SupervisedProcess.RunAsync(new ProcessLaunch(ffmpegPath, args), timeout, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded) throw new InvalidDataException($"ffmpeg could not decode image '{path}': {(result.TimedOut ? "timed out" : result.Stderr)}");
        var image = new Yuva420Image(size.Width, size.Height);
        int expected = image.Picture.ByteLength + (size.Width * size.Height);
        if (result.Stdout.Length != expected)
        {
            image.Dispose();
            throw new InvalidDataException($"ffmpeg decoded image '{path}' to {result.Stdout.Length} bytes, not the {expected} of a {size} yuva420p picture");
        }
        image.CopyFrom(result.Stdout);
        return image;
    }
}
