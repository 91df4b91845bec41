using Broadcast.Control.Analytics;
using Broadcast.Control.Channels;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>
/// A channel's broadcasts with audience kept, newest first (<see cref="AudienceBroadcasts"/>, as
/// <c>GET /api/channels/{id}/broadcasts</c>), each linking to its report page.
/// </summary>
public sealed class AudienceModel(ChannelService channels, AudienceBroadcasts broadcasts, AnalyticsOptions options) : PageModel
{
    public Channel Channel { get; private set; } = null!;

    public IReadOnlyList<AudienceBroadcast> Broadcasts { get; private set; } = [];

    /// <summary>How long the audience is kept (<c>Analytics:RetentionDays</c>), for the page's note.</summary>
    public int RetentionDays { get; private set; }

    public async Task<IActionResult> OnGetAsync(string id, CancellationToken cancellationToken)
    {
        if (await channels.GetAsync(id, cancellationToken).ConfigureAwait(false) is not { } channel) return NotFound();
        Channel = channel;
        RetentionDays = options.RetentionDays;
        Broadcasts = await broadcasts.ListAsync(id, AudienceBroadcasts.MaxLimit, cancellationToken).ConfigureAwait(false);
        return Page();
    }

    /// <summary>How long the broadcast's audience was kept over: its first bucket to the end of its last.</summary>
    public static string Span(AudienceBroadcast b) => Format.Duration(b.LastBucket - b.FirstBucket + TimeSpan.FromSeconds(AudienceReport.Bucket));
}
