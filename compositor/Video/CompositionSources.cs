namespace Broadcast.Compositor.Video;

/// <summary>
/// What a composition draws from, by source id: each input's latest decoded picture, the overlay images, and the
/// placeholder cards. An input with no picture here is drawn as its placeholder. The I/O side replaces entries as
/// decoders deliver; the compositor only reads them.
/// </summary>
public sealed class CompositionSources
{
    /// <summary>Each input's latest picture, at the size its decoder was told to deliver.</summary>
    public Dictionary<string, Yuv420Frame> Frames { get; } = new(StringComparer.Ordinal);

    /// <summary>Overlay images (logos, lower thirds) with their alpha.</summary>
    public Dictionary<string, Yuva420Image> Images { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Per input, the card drawn over the plain dark placeholder while it has no picture: the input's name, rendered
    /// (by ffmpeg's drawtext, at I/O time) into an image with alpha. Without a card the placeholder is the plain
    /// dark tile; the compositor itself renders no text.
    /// </summary>
    public Dictionary<string, Yuva420Image> PlaceholderCards { get; } = new(StringComparer.Ordinal);
}
