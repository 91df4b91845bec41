using System.Text.RegularExpressions;
using Broadcast.Control.Channels;
using Broadcast.Control.Sources;
using Broadcast.Media.Codecs.Images;

namespace Broadcast.Control.Programs;

/// <summary>
/// A program request checked field by field (every field named as in the body; a source's URL as a pull source's, by
/// <paramref name="pullSources"/>) and resolved into the <see cref="ProgramPlan"/> the <see cref="IProgramRunner"/> takes:
/// channel inputs by id or slug to their streams, images decoded from base64. Reads only, so a request is checked whole
/// before anything runs or is stored.
/// </summary>
internal sealed partial class ProgramPlanner(ChannelService channels, PullSourceService? pullSources)
{
    /// <summary>The most inputs a program composes (a 2×2 grid plus images).</summary>
    public const int MaxInputs = 8;

    /// <summary>An image input's encoded bytes at most: logos, lower thirds and slates, not films.</summary>
    public const int MaxImageBytes = 512 * 1024;

    public const int MaxImageSide = 4096;

    /// <summary>A placeholder's name at most, in characters (the compositor's name card takes no more).</summary>
    public const int MaxLabelLength = 48;

    private static readonly string[] Corners = ["top-left", "top-right", "bottom-left", "bottom-right"];

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")]
    private static partial Regex InputId();

    /// <summary>Checks the request and resolves its inputs into the plan the runner applies.</summary>
    /// <exception cref="ValidationFailedException">A field is invalid (named as in the request); every invalid field is named at once.</exception>
    public async Task<ProgramPlan> PlanAsync(Channel channel, ProgramRequest request, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        void Fail(string field, string message) => errors.TryAdd(field, [message]);

        var sources = new List<ProgramSource>();
        var images = new HashSet<string>(StringComparer.Ordinal);
        if (request.Inputs is not { Count: > 0 } inputs) Fail("inputs", $"A program needs 1 to {MaxInputs} inputs.");
        else if (inputs.Count > MaxInputs) Fail("inputs", $"A program takes at most {MaxInputs} inputs, not {inputs.Count}.");
        else
        {
            for (int i = 0; i < inputs.Count; i++)
            {
                string field = $"inputs[{i}]";
                var input = inputs[i];
                if (input is null) { Fail(field, "The input is missing."); continue; }
                if (input.Id is not { } id
                    || !InputId().IsMatch(id)) { Fail(field + ".id", "An id of 1 to 32 letters, digits, '-' or '_' is required."); continue; }
                if (sources.Exists(s => s.Id == id)) { Fail(field + ".id", $"Two inputs are called '{id}'."); continue; }
                if ((input.Channel is null ? 0 : 1) + (input.Image is null ? 0 : 1) + (input.Source is null ? 0 : 1) != 1)
                {
                    Fail(field, "Give exactly one of 'channel' (a channel's id or slug), 'source' ({\"url\": " +
                        "a URL or file:NAME in the media library}) and 'image'.");
                    continue;
                }
                if (input.Label is { } label
                    && LabelError(label, input.Image is not null) is { } labelError) { Fail(field + ".label", labelError); continue; }
                if (input.Source is { } pull)
                {
                    if (await SourceErrorAsync(pull.Url, field + ".source.url", cancellationToken).ConfigureAwait(false) is { } sourceError)
                    {
                        Fail(field + ".source.url", sourceError);
                        continue;
                    }
                    string url = pull.Url!.Trim();
                    sources.Add(new ProgramSource(id, null, null, 0, 0, input.Label ?? SourceLabel(url))
                    {
                        Pull = new ProgramPull(url, pull.Loop ?? false, pull.AllowUntrustedCertificate ?? false),
                    });
                    continue;
                }
                if (input.Channel is { } reference)
                {
                    var source = await channels.GetAsync(reference, cancellationToken).ConfigureAwait(false)
                        ?? await channels.GetBySlugAsync(reference, cancellationToken).ConfigureAwait(false);
                    if (source is null) Fail(field + ".channel", $"No channel has id or slug '{reference}'.");
                    else if (source.Id == channel.Id) Fail(field + ".channel", "A program cannot take its own channel as an input.");
                    else sources.Add(new ProgramSource(id, source.Slug, null, 0, 0, input.Label ?? source.Name));
                    continue;
                }
                var image = input.Image!;
                byte[]? bytes = null;
                if (image.Data is not { Length: > 0 } data || data.Length > (MaxImageBytes + 2) / 3 * 4 || !TryBase64(data, out bytes))
                    Fail(field + ".image.data", $"A base64 PNG or JPEG of at most {MaxImageBytes / 1024} KiB is required.");
                // Refused here, where the bytes arrive: anything else would be left to ffmpeg's probing, which reads a
                // playlist as readily as a picture.
                else if (!StillImageSignature.TryDetect(bytes, out _))
                    Fail(field + ".image.data", "The image is neither a PNG nor a JPEG: its first bytes are not a PNG or JPEG signature.");
                else if (image.Width is not { } w || w < 2 || w > MaxImageSide || w % 2 != 0)
                    Fail(field + ".image.width", $"An even width from 2 to {MaxImageSide} pixels is required.");
                else if (image.Height is not { } h || h < 2 || h > MaxImageSide || h % 2 != 0)
                    Fail(field + ".image.height", $"An even height from 2 to {MaxImageSide} pixels is required.");
                else
                {
                    sources.Add(new ProgramSource(id, null, bytes, w, h));
                    images.Add(id);
                }
            }
        }

        var layout = request.Layout;
        if (layout is null) Fail("layout", "A layout is required.");
        else
        {
            if (layout.Kind is not { } kind || !ProgramWords.Kinds.Contains(kind)) Fail("layout.kind", $"One of {string.Join(", ", ProgramWords.Kinds)} is required.");
            if (layout.Inputs is null) Fail("layout.inputs", "The tiles of the layout are required: [{\"id\": …}, …].");
            else
            {
                for (int i = 0; i < layout.Inputs.Count; i++)
                {
                    if (layout.Inputs[i]?.Fit is { } fit && fit is not ("fit" or "fill")) Fail($"layout.inputs[{i}].fit", "Either fit or fill.");
                }
            }
            if (layout.InsetCorner is { } corner && !Corners.Contains(corner)) Fail("layout.insetCorner", $"One of {string.Join(", ", Corners)}.");
            for (int i = 0; i < (layout.Overlays?.Count ?? 0); i++)
            {
                if (layout.Overlays![i]?.Id is not { } overlay || !images.Contains(overlay)) Fail($"layout.overlays[{i}].id",
                    "An overlay shows an image input.");
                else if (layout.Overlays[i].Rect is null) Fail($"layout.overlays[{i}].rect", "An overlay needs its rectangle.");
            }
        }

        var audio = request.Audio ?? [];
        foreach (var (id, mix) in audio)
        {
            string field = $"audio.{id}";
            if (images.Contains(id)) Fail(field, "An image has no sound.");
            else if (!sources.Exists(s => s.Id == id) && errors.Count == 0) Fail(field, "No input has this id.");
            else if (mix?.GainDb is { } gain && (!double.IsFinite(gain) || gain > 24 || gain < -96)) Fail(field + ".gainDb",
                "A gain from -96 to +24 dB.");
        }

        if (request.Transition is not { } transition || !ProgramWords.Transitions.Contains(transition)) Fail("transition", "Either cut or fade.");
        if (errors.Count > 0) throw new ValidationFailedException(errors);
        return new ProgramPlan(channel.Slug, sources, layout!, audio, request.Transition!);
    }

    /// <summary>Why the URL cannot be a source input, or null: a channel's pull source's rules and outbound policy.</summary>
    private async Task<string?> SourceErrorAsync(string? url, string field, CancellationToken cancellationToken)
    {
        if (pullSources is null) return "This server takes no URL or library sources.";
        try
        {
            await pullSources.ValidateAsync(url, field, cancellationToken, noun: "source").ConfigureAwait(false);
            return null;
        }
        catch (ValidationFailedException e)
        {
            return e.Errors.TryGetValue(field, out var messages) && messages.Length > 0 ? messages[0] : e.Message;
        }
    }

    /// <summary>The name a source input's placeholder shows by default: a library file's name, a URL's host.</summary>
    public static string SourceLabel(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        string name = url.StartsWith("file:", StringComparison.OrdinalIgnoreCase)
            ? Path.GetFileName(url[5..].Replace('\\', '/').TrimEnd('/'))
            : Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.Host : "";
        if (name.Length == 0) name = "source";
        return name.Length > MaxLabelLength ? name[..MaxLabelLength] : name;
    }

    private static bool TryBase64(string data, out byte[]? bytes)
    {
        bytes = new byte[data.Length / 4 * 3 + 3];
        if (Convert.TryFromBase64String(data, bytes, out int written) && written <= MaxImageBytes)
        {
            bytes = bytes[..written];
            return true;
        }
        bytes = null;
        return false;
    }

    /// <summary>Why a label cannot be taken, or null: it names a channel input's placeholder, on one line.</summary>
    private static string? LabelError(string label, bool image) =>
        image ? "An image input has no placeholder to name; 'label' is for channel and source inputs."
        : label.Trim().Length == 0 || label.Length > MaxLabelLength || label.Any(char.IsControl)
            ? $"A label of 1 to {MaxLabelLength} characters on one line (no control characters) is required."
            : null;
}
