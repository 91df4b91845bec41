using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Broadcast.Compositor.Layouts;
using Broadcast.Compositor.Video;
using Broadcast.Processes;

namespace Broadcast.Compositor.Inputs;

/// <summary>
/// The name an input's placeholder shows while it has no picture: the label in white on transparent, rendered once by
/// ffmpeg's <c>drawtext</c> (the compositor draws no text itself). The name sits in the card's lower band, below the
/// middle, so the tile still reads as "dark, waiting" at a glance and its centre keeps the placeholder's colour.
/// </summary>
public static class NameCard
{
    /// <summary>The longest label a card takes, in characters (a name, not a caption).</summary>
    public const int MaxLabelLength = 48;

    /// <summary>Where the text's top sits, in thousandths of the card's height.</summary>
    public const int TextTopPerMille = 640;

    /// <summary>The smallest side a card is rendered at: below it no name is legible.</summary>
    public const int MinSide = 16;

    /// <summary>The size a card is rendered at for a canvas: half of it each way (a grid cell), even.</summary>
    public static PixelSize SizeFor(PixelSize canvas) => new(Math.Max(2, canvas.Width / 2 & ~1), Math.Max(2, canvas.Height / 2 & ~1));

    /// <summary>
    /// The label as a card shows it: control characters (line breaks included) become spaces, runs of spaces one space,
    /// the ends trimmed; null when nothing printable is left.
    /// </summary>
    public static string? Clean(string? label)
    {
        if (label is null) return null;
        var text = new StringBuilder(label.Length);
        foreach (char c in label)
        {
            char shown = char.IsControl(c) ? ' ' : c;
            if (shown == ' ' && (text.Length == 0 || text[^1] == ' ')) continue;
            text.Append(shown);
        }
        string cleaned = text.ToString().TrimEnd();
        if (cleaned.Length > MaxLabelLength) cleaned = cleaned[..MaxLabelLength];
        return cleaned.Length == 0 ? null : cleaned;
    }

    /// <summary>Renders <paramref name="label"/> (cleaned; see <see cref="Clean"/>) into a card of <paramref name="size"/>.</summary>
    /// <exception cref="ArgumentException">Nothing printable in the label.</exception>
    /// <exception cref="InvalidDataException">ffmpeg could not render it (no drawtext, no font).</exception>
    public static async Task<Yuva420Image> RenderAsync(string ffmpegPath, string label, PixelSize size, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        string text = Clean(label) ?? throw new ArgumentException("a name card needs a printable label", nameof(label));
        if (size.Width < MinSide || size.Height < MinSide || size.Width % 2 != 0 || size.Height % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(size), $"{size}: a card is rendered at an even size of at least 16x16");
        // The text reaches drawtext through a file of our own naming, read verbatim (expansion=none): a label is never
        // parsed as filter syntax or as drawtext's %{…} expansions, whatever it contains.
        string textPath = Path.Combine(Path.GetTempPath(), $"broadcast-card-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}.txt");
        try
        {
            await File.WriteAllTextAsync(textPath, text, new UTF8Encoding(false), cancellationToken).ConfigureAwait(false);
            var result = await SupervisedProcess.RunAsync(new ProcessLaunch(ffmpegPath, Arguments(textPath, text.Length, size)), timeout,
                cancellationToken).ConfigureAwait(false);
            int expected = size.Width * size.Height * 3;
            if (!result.Succeeded || result.Stdout.Length != expected)
            {
                throw new InvalidDataException(result.Succeeded
                    ? $"ffmpeg rendered a name card of {result.Stdout.Length} bytes, not the {expected} of a {size} rgb24 picture"
                    : $"ffmpeg could not render a name card: {(result.TimedOut ? "timed out" : result.Stderr)}");
            }
            return FromWhiteOnBlack(result.Stdout, size);
        }
        finally
        {
            File.Delete(textPath);
        }
    }

    /// <summary>ffmpeg's arguments: white text on black, one rgb24 picture to stdout.</summary>
    internal static string[] Arguments(string textPath, int length, PixelSize size)
    {
        // One line, centred: the size is a ninth of the card's height, smaller for a long name so it fits the width
        // (a glyph of a sans face averages about 0.6 of its size).
        int fontSize = Math.Max(8, Math.Min(size.Height / 9, (int)(size.Width * 0.9 / (0.6 * Math.Max(1, length)))));
        return
        [
            "-hide_banner", "-nostdin", "-loglevel", "error",
            "-f", "lavfi", "-i", string.Create(CultureInfo.InvariantCulture, $"color=c=black:s={size.Width}x{size.Height}:r=1"),
            "-frames:v", "1",
            "-vf", string.Create(CultureInfo.InvariantCulture,
                $"format=rgb24,drawtext=textfile={textPath}:expansion=none:font=Sans:fontcolor=white:fontsize={fontSize}:x=(w-text_w)/2:y=h*{TextTopPerMille}/1000"),
            "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1",
        ];
    }

    /// <summary>
    /// White text on black becomes white with the text's coverage as alpha: the red channel of each pixel is how much of
    /// it the glyphs cover (their antialiased edges included), and the picture under the alpha is plain white.
    /// </summary>
    internal static Yuva420Image FromWhiteOnBlack(ReadOnlySpan<byte> rgb24, PixelSize size)
    {
        var card = new Yuva420Image(size.Width, size.Height);
        card.Picture.Fill(WhiteLuma, Yuv420Frame.NeutralChroma, Yuv420Frame.NeutralChroma);
        var alpha = card.Alpha;
        for (int i = 0; i < alpha.Length; i++) alpha[i] = rgb24[i * 3];
        return card;
    }

    /// <summary>Limited-range white (BT.601/709 video levels).</summary>
    private const byte WhiteLuma = 235;
}
