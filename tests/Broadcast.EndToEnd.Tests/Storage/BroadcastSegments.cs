using System.Globalization;
using System.Text.RegularExpressions;

namespace Broadcast.EndToEnd.Tests.Storage;

/// <summary>The media segments a live playlist lists, by their names: the broadcast's id and the media sequence number.</summary>
internal static partial class BroadcastSegments
{
    public static List<(string Id, long Number)> Of(string playlist) =>
        [.. SegmentLine().Matches(playlist).Select(m => (m.Groups["id"].Value, long.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture)))];

    [GeneratedRegex(@"^(?<id>\d{8}T\d{6}Z)-(?<n>\d+)\.m4s$", RegexOptions.Multiline)]
    private static partial Regex SegmentLine();
}
