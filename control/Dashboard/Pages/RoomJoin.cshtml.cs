using Broadcast.Control.Channels;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>
/// The green room of a channel's live room, for guests (no account): the camera and microphone preview, a name, and
/// "Ask to join" (with a host's invite from the link, or as a viewer's request from the watch page). Once a host admits
/// the guest, the page publishes into the room and shows the others; a host may remove the guest at any time.
/// </summary>
public sealed class RoomJoinModel(ChannelService channels) : PageModel
{
    public Channel Channel { get; private set; } = null!;

    public bool Invited { get; private set; }

    public async Task<IActionResult> OnGetAsync(string slug, string? invite, CancellationToken cancellationToken)
    {
        if (await channels.GetBySlugAsync(slug, cancellationToken).ConfigureAwait(false) is not { } channel) return NotFound();
        Channel = channel;
        Invited = !string.IsNullOrEmpty(invite);
        return Page();
    }
}
