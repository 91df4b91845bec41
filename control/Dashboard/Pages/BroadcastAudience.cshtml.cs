using System.Globalization;
using Broadcast.Control.Analytics;
using Broadcast.Control.Channels;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>
/// One broadcast's audience report (<see cref="AudienceStore.ReportAsync"/>, as the API's): its figures, its playback quality
/// when players sent CMCD, and its concurrent viewers (and, with CMCD, the sessions that stalled and the mean bitrate per
/// bucket) drawn on the server (<see cref="AudienceChart"/>). A broadcast of
/// another channel, or none kept, is a 404, as in the API.
/// </summary>
public sealed class BroadcastAudienceModel(ChannelService channels, AudienceStore store) : PageModel
{
    public Channel Channel { get; private set; } = null!;

    public string BroadcastId { get; private set; } = "";

    public AudienceReport Report { get; private set; } = null!;

    public AudienceChart Chart { get; private set; } = null!;

    /// <summary>The CMCD sessions that stalled in each bucket (a session counted in each bucket and node it stalled in); null without CMCD.</summary>
    public AudienceChart? StalledChart { get; private set; }

    /// <summary>The CMCD sessions' mean bitrate per bucket, kb/s, over the buckets where players said it; null without CMCD.</summary>
    public AudienceChart? BitrateChart { get; private set; }

    /// <summary>The report's series as CSV, by the admin API's route (the dashboard's session may use it).</summary>
    /// <summary>The split by rung, most minutes watched first ("other" last).</summary>
    public IReadOnlyList<(string Name, AudienceRung Rung)> Rungs =>
        [.. (Report.ByRung ?? new Dictionary<string, AudienceRung>()).Select(r => (r.Key, r.Value)).OrderBy(r => r.Key == AudienceRungs.Other)
            .ThenByDescending(r => r.Value.MinutesWatched).ThenBy(r => r.Key, StringComparer.Ordinal)];

    public string CsvPath => $"/api/channels/{Channel.Id}/broadcasts/{BroadcastId}/audience?format=csv";

    public async Task<IActionResult> OnGetAsync(string id, string broadcastId, CancellationToken cancellationToken)
    {
        if (!BroadcastIds.IsValid(broadcastId)) return NotFound();
        if (await channels.GetAsync(id, cancellationToken).ConfigureAwait(false) is not { } channel) return NotFound();
        if (await store.ReportAsync(id, broadcastId, cancellationToken).ConfigureAwait(false) is not { } report) return NotFound();
        Channel = channel;
        BroadcastId = broadcastId;
        Report = report;
        Chart = AudienceChart.Of(report.Series);
        if (report.Quality is { Series.Count: > 0 } quality)
        {
            StalledChart = AudienceChart.Of(quality.Series.Select(p => (p.T, p.StalledSessions)).ToList(), "CMCD sessions that stalled",
                "No CMCD session played in any bucket.");
            BitrateChart = AudienceChart.Of(
                quality.Series.Where(p => p.MeanBitrateKbps is not null).Select(p => (p.T, (long)Math.Round(p.MeanBitrateKbps!.Value))).ToList(),
                "Mean bitrate of CMCD sessions (kb/s)", "No player said the bitrate it played.");
        }
        return Page();
    }

    /// <summary>A span of seconds as the dashboard prints durations (m:ss, or h:mm:ss).</summary>
    public static string Seconds(double seconds) => Format.Duration(TimeSpan.FromSeconds(Math.Round(seconds)));

    public static string Number(double value) => value.ToString("#,0.##", CultureInfo.InvariantCulture);

    public static string Share(double share) => (share * 100).ToString("0.#", CultureInfo.InvariantCulture) + " %";

    public static string Kbps(double? kbps) => kbps is { } k ? Format.Bitrate((long)Math.Round(k * 1000)) : "–";

    /// <summary>The deliveries in the order the page lists them, with their names as a viewer knows them.</summary>
    public static readonly (string Key, string Name)[] Deliveries = [("hls", "HLS"), ("llhls", "LL-HLS"), ("dash", "DASH"), ("whep", "WebRTC (WHEP)")];
}
