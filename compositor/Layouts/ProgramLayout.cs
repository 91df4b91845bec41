namespace Broadcast.Compositor.Layouts;

/// <summary>How a layout arranges its inputs on the canvas.</summary>
public enum LayoutKind
{
    /// <summary>One input fills the canvas.</summary>
    Single,

    /// <summary>The first input fills the canvas, the second is an inset in a corner.</summary>
    PictureInPicture,

    /// <summary>Two inputs, each in one half of the canvas.</summary>
    SideBySide,

    /// <summary>One to four inputs: 1 fills, 2 side by side, 3 or 4 in a 2×2 grid (row by row).</summary>
    Grid,

    /// <summary>Each input at its own rectangle and z-order.</summary>
    Free,
}

/// <summary>How an input's picture meets a cell whose aspect differs from its own.</summary>
public enum FitMode
{
    /// <summary>The whole picture, aspect kept, black bars where the cell is left over (letterbox or pillarbox).</summary>
    Fit,

    /// <summary>The cell filled, aspect kept, the picture's overhang cropped equally on both sides.</summary>
    Fill,
}

/// <summary>The corner a picture-in-picture inset sits in.</summary>
public enum Corner
{
    TopLeft,
    TopRight,
    BottomLeft,
    BottomRight,
}

/// <summary>
/// One input's place in a layout. <see cref="Rect"/> and <see cref="Z"/> are read in a free layout only; the other
/// kinds place their inputs themselves (in the order given).
/// </summary>
public sealed record LayoutInput(string InputId, FitMode Fit = FitMode.Fit, PixelRect? Rect = null, int Z = 0);

/// <summary>A still image (a logo, a lower third) drawn over every input, with its alpha, scaled to fit its rectangle.</summary>
public sealed record LayoutOverlay(string ImageId, PixelRect Rect);

/// <summary>
/// A program's layout: which inputs are seen where, and the overlays on top. A pure description, checked and turned
/// into tile placements by <see cref="LayoutPlanner"/>.
/// </summary>
public sealed record ProgramLayout(LayoutKind Kind, IReadOnlyList<LayoutInput> Inputs)
{
    /// <summary>Picture-in-picture: the corner of the inset.</summary>
    public Corner InsetCorner { get; init; } = Corner.BottomRight;

    /// <summary>Picture-in-picture: the inset's width as a share of the canvas width, in per mille (1–1000).</summary>
    public int InsetWidthPerMille { get; init; } = 300;

    /// <summary>Picture-in-picture: the inset's distance from the two canvas edges of its corner, in pixels.</summary>
    public int InsetMargin { get; init; } = 32;

    /// <summary>Images on top of every input, drawn in this order (the last one uppermost).</summary>
    public IReadOnlyList<LayoutOverlay> Overlays { get; init; } = [];
}
