using Broadcast.Control.Channels;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>
/// A channel's control room: its program's inputs (on air or not) with their faders, mute and solo, one-click layouts,
/// the program preview and loudness. The page reads and changes the program through the admin API
/// (<c>/api/channels/{id}/program</c>, cookie session + antiforgery header), like the restream card.
/// </summary>
public sealed class ControlRoomModel(ChannelService channels, IAntiforgery antiforgery) : PageModel
{
    public Channel Channel { get; private set; } = null!;

    /// <summary>The channels that can be inputs (every other channel).</summary>
    public IReadOnlyList<Channel> Candidates { get; private set; } = [];

    public string AntiforgeryToken { get; private set; } = "";

    /// <summary>Same-origin playlist path for the program preview (the CSP allows only our own origin).</summary>
    public string HlsPath => $"/live/{Channel.Slug}/master.m3u8{_previewQuery}";

    private string _previewQuery = "";

    public async Task<IActionResult> OnGetAsync(string id, CancellationToken cancellationToken)
    {
        if (await channels.GetAsync(id, cancellationToken).ConfigureAwait(false) is not { } channel) return NotFound();
        Channel = channel;
        Candidates = [.. (await channels.ListAsync(cancellationToken).ConfigureAwait(false)).Where(c => c.Id != channel.Id)];
        AntiforgeryToken = antiforgery.GetAndStoreTokens(HttpContext).RequestToken ?? "";
        (_, _previewQuery) = await ChannelPrivatePlayback.PreviewAsync(HttpContext, channel, cancellationToken).ConfigureAwait(false);
        return Page();
    }
}
