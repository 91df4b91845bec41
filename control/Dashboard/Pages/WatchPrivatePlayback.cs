using Broadcast.Control.Playback;
using Broadcast.Control.Security;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>
/// The watch page of a private channel: a signed-in admin gets a player whose URL carries a freshly minted token
/// (the origin answers it with the stream-scoped cookie); anyone else sees why there is no player.
/// </summary>
internal static class PrivatePlayback
{
    /// <summary>Lifetime of a watch-page token. Short: on expiry the player's fatal error reloads the page, which mints again.</summary>
    public static readonly TimeSpan WatchTokenLifetime = TimeSpan.FromHours(1);

    /// <summary>Always true (the page exists); turns a player into the "private" card or adds the token to its source.</summary>
    public static async Task<bool> ApplyAsync(WatchModel page, CancellationToken cancellationToken, bool mint = true)
    {
        var access = page.HttpContext.RequestServices.GetService<PlaybackAccessService>();
        if (access is null || !access.IsPrivate(page.Channel.Slug) || page.Mode is not ("live" or "recording"))
        {
            return true;
        }

        // A viewer who opened the page from a token link (/watch/{slug}?token=…) plays with that token.
        string? presented = page.Request.Query["token"];
        bool viewerToken = presented is not null && access.Verify(page.Channel.Slug, presented, out _) == PlaybackTokenResult.Valid;
        if (viewerToken)
        {
            page.Source += (page.Source.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "token=" + Uri.EscapeDataString(presented!);
            return true;
        }

        if (!page.User.IsInRole(ControlAuth.AdminRole))
        {
            page.Mode = "private";
            page.Source = "";
            return true;
        }

        if (mint)
        {
            var token = await access.MintAsync(page.Channel.Slug, WatchTokenLifetime, cancellationToken).ConfigureAwait(false);
            page.Source += (page.Source.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "token=" + token.Token;
        }

        return true;
    }
}
