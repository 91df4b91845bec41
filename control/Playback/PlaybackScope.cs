using System.Security.Cryptography;
using System.Text;

namespace Broadcast.Control.Playback;

/// <summary>
/// The <c>X-Playback-Scope</c> of a private channel: 16 hex characters derived from its channel id (not the id itself).
/// Every node that answers an edge's token check derives it the same way, so the edge's cache key for a private
/// channel does not depend on which node it asked.
/// </summary>
public static class PlaybackScope
{
    public static string Of(string channelId)
    {
        ArgumentNullException.ThrowIfNull(channelId);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("playback-scope:" + channelId)))[..16];
    }
}
