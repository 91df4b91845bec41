using Broadcast.Compositor.Engine;

namespace Broadcast.Compositor.Layouts;

/// <summary>
/// The words a layout is named with in the API, the control room and the studio (<c>single</c>, <c>pip</c>,
/// <c>side-by-side</c>, <c>grid</c>, <c>free</c>; <c>fit</c>/<c>fill</c>; the inset's corner; <c>cut</c>/<c>fade</c>), read
/// into the compositor's enums in this one place. A word it does not know is a <see cref="LayoutException"/> naming its
/// field, never a default. Control checks requests against the same words without knowing the compositor
/// (<c>ProgramPlanner</c>); <see cref="Kinds"/> and <see cref="Transitions"/> are what a test holds its lists to.
/// </summary>
public static class LayoutWords
{
    /// <summary>Every layout kind's word.</summary>
    public static IReadOnlyList<string> Kinds { get; } = ["single", "pip", "side-by-side", "grid", "free"];

    /// <summary>Every transition's word.</summary>
    public static IReadOnlyList<string> Transitions { get; } = ["cut", "fade"];

    /// <summary>How a layout change reaches the picture: <c>cut</c> or <c>fade</c>.</summary>
    public static LayoutTransition Transition(string? word) => word switch
    {
        "cut" => LayoutTransition.Cut,
        "fade" => LayoutTransition.Fade,
        _ => throw new LayoutException("transition", $"unknown transition '{word}': cut or fade"),
    };

    public static LayoutKind Kind(string? word) =>
        TryKind(word, out var kind) ? kind : throw new LayoutException("kind", $"unknown layout '{word}': single, pip, side-by-side, grid or free");

    public static bool TryKind(string? word, out LayoutKind kind)
    {
        (bool known, kind) = word switch
        {
            "single" => (true, LayoutKind.Single),
            "pip" => (true, LayoutKind.PictureInPicture),
            "side-by-side" => (true, LayoutKind.SideBySide),
            "grid" => (true, LayoutKind.Grid),
            "free" => (true, LayoutKind.Free),
            _ => (false, default),
        };
        return known;
    }

    /// <summary>A tile's fit (<c>fit</c> when none is given); <paramref name="field"/> names the tile's field in an error.</summary>
    public static FitMode Fit(string? word, string field) => word switch
    {
        null or "fit" => FitMode.Fit,
        "fill" => FitMode.Fill,
        _ => throw new LayoutException(field, $"unknown fit '{word}': fit or fill"),
    };

    public static Corner Corner(string word) => word switch
    {
        "top-left" => Layouts.Corner.TopLeft,
        "top-right" => Layouts.Corner.TopRight,
        "bottom-left" => Layouts.Corner.BottomLeft,
        "bottom-right" => Layouts.Corner.BottomRight,
        _ => throw new LayoutException("insetCorner", $"unknown corner '{word}': top-left, top-right, bottom-left or bottom-right"),
    };
}
