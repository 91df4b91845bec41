using System.Security.Cryptography;
using Broadcast.Compositor.Inputs;
using Broadcast.Compositor.Layouts;
using Broadcast.Compositor.Video;
using Broadcast.Media.Codecs.Images;
using Microsoft.Extensions.Logging;

namespace Broadcast.Compositor.Engine;

/// <summary>
/// The still pictures a hosted program draws besides its decoded inputs: its image inputs, decoded once by ffmpeg, and
/// the name cards its inputs' placeholders show, rendered once. A picture the running program already has for the same
/// input (same bytes and size; same label) is taken from it rather than made again, and a set's pictures are freed
/// only where the set that replaces it does not hold them too.
/// </summary>
internal sealed partial class ProgramImages(ProgramSettings settings, ILogger logger)
{
    private static readonly TimeSpan ImageDecodeTimeout = TimeSpan.FromSeconds(20);
    private const string NotAnImage = "It is neither a PNG nor a JPEG: its first bytes are not a PNG or JPEG signature.";
    private static readonly TimeSpan CardRenderTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Decodes the image inputs; one the running program already has (its key in <paramref name="runningKeys"/> equal to
    /// the input's in <paramref name="keys"/>: same id, size and bytes) is taken from <paramref name="runningImages"/>.
    /// </summary>
    /// <exception cref="ProgramImageException">An image cannot be decoded; none of the images decoded here is left over.</exception>
    public async Task<Dictionary<string, Yuva420Image>> DecodeAsync(IReadOnlyList<ProgramInputSource> inputs,
        IReadOnlyDictionary<string, string> keys, IReadOnlyDictionary<string, Yuva420Image>? runningImages,
        IReadOnlyDictionary<string, string>? runningKeys, CancellationToken cancellationToken)
    {
        var images = new Dictionary<string, Yuva420Image>(StringComparer.Ordinal);
        for (int i = 0; i < inputs.Count; i++)
        {
            if (inputs[i].Image is not { } bytes) continue;
            if (runningImages is not null && runningKeys!.TryGetValue(inputs[i].Id, out string? key) && key == keys[inputs[i].Id])
            {
                images[inputs[i].Id] = runningImages[inputs[i].Id];
                continue;
            }
            // Checked before anything is written: a stored program's bytes may predate control's own check of them.
            if (!StillImageSignature.TryDetect(bytes, out _))
            {
                DisposeNotIn(images, runningImages);
                throw new ProgramImageException(i, NotAnImage, new InvalidDataException(NotAnImage));
            }
            // ffmpeg reads the image from a file of our own naming: the bytes are the caller's, the name is not.
            string path = Path.Combine(Path.GetTempPath(), $"broadcast-program-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}");
            try
            {
                await File.WriteAllBytesAsync(path, bytes, cancellationToken).ConfigureAwait(false);
                images[inputs[i].Id] = await ImageInput.DecodeAsync(settings.FfmpegPath, path, new PixelSize(inputs[i].Width, inputs[i].Height),
                    ImageDecodeTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidDataException e)
            {
                DisposeNotIn(images, runningImages);
                throw new ProgramImageException(i, "ffmpeg cannot decode it as a PNG or JPEG.", e);
            }
            finally
            {
                File.Delete(path);
            }
        }
        return images;
    }

    /// <summary>The cleaned label of each channel or RTP input that has one (see <see cref="NameCard.Clean"/>).</summary>
    public static Dictionary<string, string> CardLabels(IReadOnlyList<ProgramInputSource> inputs)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var input in inputs)
        {
            if ((input.Channel is not null || input.Rtp || input.Feed is not null) && NameCard.Clean(input.Label) is { } label)
                labels[input.Id] = label;
        }
        return labels;
    }

    /// <summary>
    /// Renders the name cards, all at once; one the running program already shows (same input, same label in
    /// <paramref name="runningLabels"/>) is taken from <paramref name="runningCards"/>. A card ffmpeg cannot render is
    /// logged and left out: the input's placeholder is then the plain dark tile, and the program goes on air regardless.
    /// </summary>
    public async Task<Dictionary<string, Yuva420Image>> RenderCardsAsync(string channel, Dictionary<string, string> labels,
        IReadOnlyDictionary<string, string>? runningLabels, IReadOnlyDictionary<string, Yuva420Image>? runningCards,
        CancellationToken cancellationToken)
    {
        var size = NameCard.SizeFor(settings.Canvas);
        if (size.Width < NameCard.MinSide || size.Height < NameCard.MinSide) return [];
        var rendering = labels.Select(async pair =>
        {
            if (runningLabels is not null && runningLabels.TryGetValue(pair.Key, out var shown) && shown == pair.Value
                && runningCards!.TryGetValue(pair.Key, out var kept))
                return (pair.Key, Card: kept);
            try
            {
                var card = await NameCard.RenderAsync(settings.FfmpegPath, pair.Value, size, CardRenderTimeout, cancellationToken)
                    .ConfigureAwait(false);
                return (pair.Key, Card: card);
            }
            catch (InvalidDataException e)
            {
                LogCardFailed(channel, pair.Key, e.Message);
                return (pair.Key, Card: (Yuva420Image?)null);
            }
        }).ToList();
        try
        {
            await Task.WhenAll(rendering).ConfigureAwait(false);
        }
        catch
        {
            // Cancelled: free what did render (but never a card the running program still shows).
            foreach (var done in rendering.Where(t => t.IsCompletedSuccessfully && t.Result.Card is not null))
            {
                if (runningCards is null || !runningCards.Values.Contains(done.Result.Card!)) done.Result.Card!.Dispose();
            }
            throw;
        }
        return rendering.Where(t => t.Result.Card is not null).ToDictionary(t => t.Result.Key, t => t.Result.Card!, StringComparer.Ordinal);
    }

    /// <summary>Frees the images of <paramref name="images"/> that <paramref name="kept"/> does not hold as well.</summary>
    public static void DisposeNotIn(IReadOnlyDictionary<string, Yuva420Image> images, IReadOnlyDictionary<string, Yuva420Image>? kept)
    {
        foreach (var image in images.Values)
        {
            if (kept is null || !kept.Values.Contains(image)) image.Dispose();
        }
    }

    [LoggerMessage(EventId = 6206, Level = LogLevel.Warning,
        Message = "Program {Channel}: no name card for input {InputId} (its placeholder stays plain): {Reason}")]
    private partial void LogCardFailed(string channel, string inputId, string reason);
}
