namespace Broadcast.Compositor.Layouts;

/// <summary>What a tile shows.</summary>
public enum TileKind
{
    /// <summary>A live input's picture (or its placeholder card while it has none).</summary>
    Input,

    /// <summary>A still image drawn with its alpha.</summary>
    Overlay,
}

/// <summary>
/// One tile of a planned composition. <see cref="Cell"/> is the rectangle the layout gives the tile (painted black behind
/// a fitted picture, the placeholder card when the input has no picture); <see cref="Content"/> lies within it and
/// receives <see cref="Crop"/> of the source picture, scaled. All canvas rectangles are even-aligned for 4:2:0.
/// <see cref="Crop"/> is empty when the source has no picture now (the tile is its placeholder).
/// </summary>
public readonly record struct TilePlacement(TileKind Kind, string SourceId, PixelRect Cell, PixelRect Content, PixelRect Crop, int Z)
{
    public bool IsPlaceholder => Kind == TileKind.Input && Crop.IsEmpty;
}

/// <summary>A checked layout turned into tiles for one canvas, drawn in order (lowest z first, overlays last).</summary>
public sealed record LayoutPlan(PixelSize Canvas, IReadOnlyList<TilePlacement> Tiles);

/// <summary>A layout that cannot be drawn; <see cref="Field"/> names the part of the layout at fault.</summary>
public sealed class LayoutException(string field, string problem) : ArgumentException($"{field}: {problem}")
{
    public string Field { get; } = field;

    /// <summary>What is wrong with <see cref="Field"/>, without its name: what an API's field error says.</summary>
    public string Problem { get; } = problem;
}
