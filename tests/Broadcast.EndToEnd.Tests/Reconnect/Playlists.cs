using System.Globalization;
using System.Text.RegularExpressions;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Reconnect;

/// <summary>What the reconnect tests read from media playlists and the channel's live status.</summary>
internal static partial class Playlists
{
    /// <summary>Segment numbers in playlist order ({broadcastId}-{n}.m4s).</summary>
    public static List<long> Numbers(string playlist) =>
        SegmentName().Matches(playlist).Select(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();

    /// <summary>EXTINF durations in seconds.</summary>
    public static List<double> Durations(string playlist) =>
        Extinf().Matches(playlist).Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();

    /// <summary>EXT-X-DISCONTINUITY-SEQUENCE (0 when absent).</summary>
    public static int DiscontinuitySequence(string playlist) =>
        DiscontinuitySequenceTag().Match(playlist) is { Success: true } m ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;

    public static int Discontinuities(string playlist) => Regex.Matches(playlist, "#EXT-X-DISCONTINUITY\n").Count;

    /// <summary>GET /api/channels/{id} says the broadcast waits for its encoder.</summary>
    public static async Task<bool> IsReconnectingAsync(ServerProcess server, string channelId) =>
        (await server.Api.GetChannelAsync(channelId)).Raw?["live"]?["reconnecting"]?.GetValue<bool>() == true;

    [GeneratedRegex(@"^\w+-(\d+)\.m4s$", RegexOptions.Multiline)]
    private static partial Regex SegmentName();

    [GeneratedRegex(@"#EXTINF:([\d.]+),")]
    private static partial Regex Extinf();

    [GeneratedRegex(@"#EXT-X-DISCONTINUITY-SEQUENCE:(\d+)")]
    private static partial Regex DiscontinuitySequenceTag();
}
