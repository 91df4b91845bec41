using Broadcast.Control.Channels;
using Broadcast.Control.Dashboard.Schedule;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>Finished recordings, newest first, each with a play link to the watch page.</summary>
public sealed class RecordingsModel(ChannelService channels, IDashboardSchedule schedule) : PageModel
{
    public IReadOnlyList<DashboardRecording> Recordings { get; private set; } = [];

    private IReadOnlyList<Channel> _channels = [];

    public string ChannelName(string id) => _channels.FirstOrDefault(c => c.Id == id)?.Name ?? "(deleted channel)";

    public string ChannelSlug(string id) => _channels.FirstOrDefault(c => c.Id == id)?.Slug ?? "unknown";

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        _channels = await channels.ListAsync(cancellationToken).ConfigureAwait(false);
        Recordings = (await schedule.ListRecordingsAsync(null, cancellationToken).ConfigureAwait(false)).OrderByDescending(r => r.EndedAt).ToList();
    }
}
