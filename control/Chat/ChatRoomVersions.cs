using System.Collections.Concurrent;

namespace Broadcast.Control.Chat;

/// <summary>
/// A counter per channel that moves when its chat settings or bans change on another node (told by the fan-out), so
/// this node's cached copy (<see cref="ChatService"/>) is read again at once instead of after its lifetime.
/// </summary>
public sealed class ChatRoomVersions
{
    private readonly ConcurrentDictionary<string, long> _versions = new(StringComparer.Ordinal);

    public long Get(string channelId) => _versions.TryGetValue(channelId, out var v) ? v : 0;

    public void Bump(string channelId) => _versions.AddOrUpdate(channelId, 1, static (_, v) => v + 1);

    /// <summary>Whether a fan-out event means a channel's settings or bans changed.</summary>
    public static bool Changes(string method) => method is "settings" or "bans";
}
