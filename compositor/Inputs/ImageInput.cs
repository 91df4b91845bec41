using System.Globalization;
using Broadcast.Compositor.Layouts;
using Broadcast.Compositor.Video;
using Broadcast.Media.Codecs.Images;
using Broadcast.Processes;

namespace Broadcast.Compositor.Inputs;

/// <summary>
/// A still image input (a logo, a lower third, a slate card): a PNG or JPEG decoded once by ffmpeg to
/// <c>yuva420p</c> at the size it is drawn at. A JPEG has no alpha and comes out opaque. The bytes are a caller's: they
/// become an image only with a PNG or JPEG signature, and ffmpeg is told which of the two to read and may open nothing
/// but the file, so bytes it would otherwise probe as something else (an HLS playlist naming http:// segments) can never
/// make it reach the network.
/// </summary>
public static class ImageInput
{
    public static async Task<Yuva420Image> DecodeAsync(string ffmpegPath, string path, PixelSize size, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (size.Width < 2 || size.Height < 2 || size.Width % 2 != 0 || size.Height % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(size), $"{size}: an image is decoded at an even size");
        if (!File.Exists(path)) throw new FileNotFoundException($"image '{path}' does not exist", path);
        var format = await SniffAsync(path, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidDataException($"image '{path}' is neither a PNG nor a JPEG: its first bytes are not either signature");
        var args = Arguments(path, format, size);
        var result = await SupervisedProcess.RunAsync(new ProcessLaunch(ffmpegPath, args), timeout, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded) throw new InvalidDataException($"ffmpeg could not decode image '{path}': " +
            $"{(result.TimedOut ? "timed out" : result.Stderr)}");
        var image = new Yuva420Image(size.Width, size.Height);
        int expected = image.Picture.ByteLength + (size.Width * size.Height);
        if (result.Stdout.Length != expected)
        {
            image.Dispose();
            throw new InvalidDataException($"ffmpeg decoded image '{path}' to {result.Stdout.Length} bytes, " +
                $"not the {expected} of a {size} yuva420p picture");
        }
        image.CopyFrom(result.Stdout);
        return image;
    }

    /// <summary>
    /// ffmpeg's arguments for one decode: the demuxer forced by <paramref name="format"/> (no probing), and a protocol
    /// whitelist of <c>file</c> alone, which also binds anything the demuxer might try to open besides the input.
    /// </summary>
    internal static string[] Arguments(string path, StillImageFormat format, PixelSize size) =>
    [
        "-hide_banner", "-nostdin", "-loglevel", "error",
        "-protocol_whitelist", "file",
        "-f", format == StillImageFormat.Png ? "png_pipe" : "jpeg_pipe",
        // "file:" keeps a colon in the name from being read as a protocol.
        "-i", "file:" + path, "-frames:v", "1",
        "-vf", string.Create(CultureInfo.InvariantCulture, $"scale={size.Width}:{size.Height}:flags=area,format=yuva420p"),
        "-f", "rawvideo", "-pix_fmt", "yuva420p", "pipe:1",
    ];

    /// <summary>The file's format from its signature, or null when it has neither a PNG nor a JPEG one.</summary>
    private static async Task<StillImageFormat?> SniffAsync(string path, CancellationToken cancellationToken)
    {
        var head = new byte[StillImageSignature.Length];
        int read = 0;
        var file = File.OpenRead(path);
        await using (file.ConfigureAwait(false))
        {
            while (read < head.Length && await file.ReadAsync(head.AsMemory(read),
                cancellationToken).ConfigureAwait(false) is > 0 and var n) read += n;
        }
        return StillImageSignature.TryDetect(head.AsSpan(0, read), out var format) ? format : null;
    }
}
