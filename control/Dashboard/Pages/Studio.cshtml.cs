using Broadcast.Control.Channels;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>
/// A channel's studio: the host's camera and microphone (device pickers, preview, mute, leave) and screen share into the
/// channel's live room, the other participants' pictures, invite links, the green room (admit, refuse, ban) and the
/// participants (mute, remove, ban). The page signals through the room API (<c>/api/rooms/{slug}</c>, cookie session +
/// antiforgery header; <c>/room/{slug}</c> with the participant's id as bearer for the others' media).
/// </summary>
public sealed class StudioModel(ChannelService channels, IAntiforgery antiforgery) : PageModel
{
    public Channel Channel { get; private set; } = null!;

    public string AntiforgeryToken { get; private set; } = "";

    public async Task<IActionResult> OnGetAsync(string id, CancellationToken cancellationToken)
    {
        if (await channels.GetAsync(id, cancellationToken).ConfigureAwait(false) is not { } channel) return NotFound();
        Channel = channel;
        AntiforgeryToken = antiforgery.GetAndStoreTokens(HttpContext).RequestToken ?? "";
        return Page();
    }
}
