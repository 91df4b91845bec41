namespace Broadcast.Control.Analytics;

/// <summary>
/// The one rule for a broadcast id the audience is asked about or handed: the packager's names (a UTC time stamp such as
/// <c>20300501T120005Z</c>, or another short name), so 1 to <see cref="MaxLength"/> ASCII letters, digits, '-', '_' or '.'.
/// </summary>
public static class BroadcastIds
{
    public const int MaxLength = 64;

    public static bool IsValid(string? id) =>
        id is { Length: > 0 and <= MaxLength } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
