using Broadcast.Control.Channels;
using Broadcast.Control.Dashboard.Live;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>
/// Where a moderator account works: every channel with its live state and a link to its watch page, whose chat shows
/// a signed-in moderator the held messages, bans and settings. Admins may open it too.
/// </summary>
public sealed class ModerateModel(ChannelService channels, LiveStatusMonitor monitor) : PageModel
{
    public sealed record Row(Channel Channel, bool Online);

    public IReadOnlyList<Row> Channels { get; private set; } = [];

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        var list = await channels.ListAsync(cancellationToken).ConfigureAwait(false);
        // Live channels first: those are the chats that need a moderator now.
        Channels = list.Select(c => new Row(c, monitor.ListItem(c).Online))
            .OrderByDescending(r => r.Online).ThenBy(r => r.Channel.Name, StringComparer.OrdinalIgnoreCase).ToList();
    }
}
