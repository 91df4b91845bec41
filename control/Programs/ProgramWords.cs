namespace Broadcast.Control.Programs;

/// <summary>
/// The words a program request names its layout kind and transition with, which control checks without knowing the
/// compositor; the compositor reads the same words into its enums (<c>LayoutWords</c>), and a server test holds the two
/// lists equal.
/// </summary>
public static class ProgramWords
{
    public static IReadOnlyList<string> Kinds { get; } = ["single", "pip", "side-by-side", "grid", "free"];

    public static IReadOnlyList<string> Transitions { get; } = ["cut", "fade"];
}
