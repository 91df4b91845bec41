using System.Collections.Concurrent;

namespace Broadcast.Control.Chat;

/// <summary>
/// A counter per channel that moves when its chat settings or bans change on another node (told by the fan-out), so
/// this node's cached copy (<see cref="ChatService"/>) is read again at once instead of after its lifetime; and one that
/// moves when its history changes, for the history joining viewers share.
/// </summary>
public sealed class ChatRoomVersions
{
    private readonly ConcurrentDictionary<string, long> _versions = new(StringComparer.Ordinal);

    public long Get(string channelId) => _versions.TryGetValue(channelId, out var v) ? v : 0;

    public void Bump(string channelId) => _versions.AddOrUpdate(channelId, 1, static (_, v) => v + 1);

    /// <summary>Whether a fan-out event means a channel's settings or bans changed.</summary>
    public static bool Changes(string method) => method is "settings" or "bans";

    private readonly ConcurrentDictionary<string, long> _histories = new(StringComparer.Ordinal);

    /// <summary>
    /// A counter per channel that moves when what a joining viewer is handed changes (a message shown or taken down, a
    /// question asked or moved on), here or on another node: the joins' shared history is read again after it.
    /// </summary>
    public long GetHistory(string channelId) => _histories.TryGetValue(channelId, out var v) ? v : 0;

    public void BumpHistory(string channelId) => _histories.AddOrUpdate(channelId, 1, static (_, v) => v + 1);

    /// <summary>Whether a viewers' event changes a joining viewer's history.</summary>
    public static bool ChangesHistory(string method) => method is "message" or "removed" or "question" or "questionState";

    /// <summary>
    /// A chat event of <paramref name="channelId"/>, made on this node or told by another: the counters it concerns move
    /// (settings or bans: the cached room is read again; a viewers' event of the history: the joins' shared history is).
    /// </summary>
    public void Observe(string channelId, ChatAudience audience, string method)
    {
        if (Changes(method)) Bump(channelId);
        if (audience == ChatAudience.Viewers && ChangesHistory(method)) BumpHistory(channelId);
    }
}
