using Broadcast.Control.Playback;
using Broadcast.Control.Security;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>Who may see a channel's watch page in full.</summary>
internal enum WatchAccess
{
    /// <summary>The channel is public.</summary>
    Public,

    /// <summary>A private channel, opened with a good viewing token (<c>/watch/{slug}?token=…</c>).</summary>
    Token,

    /// <summary>A private channel, opened by a signed-in admin: the page mints a token for its player.</summary>
    Admin,

    /// <summary>A private channel and nothing that authorises playback: the page shows that it is private and nothing else.</summary>
    Refused,
}

/// <summary>
/// The watch page of a private channel. Before anything of the channel is looked up, the viewer's right to play it
/// is settled: a signed-in admin gets a player whose URL carries a freshly minted token (the origin answers it with
/// the stream-scoped cookie), a viewer with a good token plays with it, and anyone else sees only that the broadcast
/// is private: no event title, description or start, no recording id, whether or not one was asked for.
/// </summary>
internal static class PrivatePlayback
{
    /// <summary>Lifetime of a watch-page token. Short: on expiry the player's fatal error reloads the page, which mints again.</summary>
    public static readonly TimeSpan WatchTokenLifetime = TimeSpan.FromHours(1);

    /// <summary>Whether this request may see the channel's page in full, and why.</summary>
    public static WatchAccess Authorize(WatchModel page)
    {
        var access = page.HttpContext.RequestServices.GetService<PlaybackAccessService>();
        if (access is null || !access.IsPrivate(page.Channel.Slug))
        {
            return WatchAccess.Public;
        }

        string? presented = page.Request.Query["token"];
        if (presented is not null && access.Verify(page.Channel.Slug, presented, page.HttpContext.Connection.RemoteIpAddress, out _) == PlaybackTokenResult.Valid)
        {
            return WatchAccess.Token;
        }

        return page.User.IsInRole(ControlAuth.AdminRole) ? WatchAccess.Admin : WatchAccess.Refused;
    }

    /// <summary>
    /// Adds the viewer's token (or, for an admin, a fresh one when <paramref name="mint"/>) to the player's source of
    /// a private channel that is live or a recording.
    /// </summary>
    public static async Task ApplyAsync(WatchModel page, WatchAccess granted, CancellationToken cancellationToken, bool mint = true)
    {
        if (granted is WatchAccess.Public or WatchAccess.Refused || page.Mode is not ("live" or "recording"))
        {
            return;
        }

        string separator = page.Source.Contains('?', StringComparison.Ordinal) ? "&" : "?";
        if (granted == WatchAccess.Token)
        {
            page.Source += separator + "token=" + Uri.EscapeDataString(page.Request.Query["token"].ToString());
            return;
        }

        if (mint)
        {
            var access = page.HttpContext.RequestServices.GetRequiredService<PlaybackAccessService>();
            var token = await access.MintAsync(page.Channel, WatchTokenLifetime, cancellationToken).ConfigureAwait(false);
            page.Source += separator + "token=" + token.Token;
        }
    }
}
