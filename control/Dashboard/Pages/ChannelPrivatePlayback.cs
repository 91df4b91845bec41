using Broadcast.Control.Channels;
using Broadcast.Control.Playback;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>The channel page's private-playback toggle, key rotation and token-carrying preview.</summary>
internal static class ChannelPrivatePlayback
{
    /// <summary>Whether the channel is private, and the query the preview's playlist URL needs (a fresh token, or nothing).</summary>
    public static async Task<(bool Private, string Query)> PreviewAsync(HttpContext context, Channel channel, CancellationToken cancellationToken)
    {
        var access = context.RequestServices.GetRequiredService<PlaybackAccessService>();
        if (!access.IsPrivate(channel.Slug))
        {
            return (false, "");
        }

        var token = await access.MintAsync(channel, PrivatePlayback.WatchTokenLifetime, cancellationToken).ConfigureAwait(false);
        return (true, "?token=" + token.Token);
    }

    public static Task<bool> SetAsync(HttpContext context, string channelId, bool enabled, CancellationToken cancellationToken)
        => context.RequestServices.GetRequiredService<PlaybackAccessService>().SetPrivateAsync(channelId, enabled, cancellationToken);

    public static Task<PlaybackKeyRing> RotateAsync(HttpContext context, CancellationToken cancellationToken)
        => context.RequestServices.GetRequiredService<PlaybackAccessService>().RotateAsync(cancellationToken);
}
