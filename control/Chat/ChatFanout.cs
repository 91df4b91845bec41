namespace Broadcast.Control.Chat;

/// <summary>Who receives a chat event: every viewer of the channel (moderators included), or its moderators only.</summary>
public enum ChatAudience
{
    Viewers,
    Moderators,
}

/// <summary>
/// Delivers chat events to the viewers of a channel on every node. <see cref="Publish"/> never waits: the local
/// delivery is SignalR's (each connection writes through its own buffer, so a slow viewer delays only itself) and a
/// cross-node implementation queues the event for other nodes (bounded, oldest dropped).
/// </summary>
public interface IChatFanout
{
    void Publish(string channelId, ChatAudience audience, string method, object payload);
}

/// <summary>SignalR group names of a channel's chat.</summary>
public static class ChatGroups
{
    public static string Viewers(string channelId) => "chat:" + channelId;

    public static string Moderators(string channelId) => "chatmod:" + channelId;

    public static string Of(string channelId, ChatAudience audience)
        => audience == ChatAudience.Moderators ? Moderators(channelId) : Viewers(channelId);
}

/// <summary>One node: events go straight to this node's hub groups.</summary>
public sealed class LocalChatFanout(ChatGroupDelivery delivery) : IChatFanout
{
    public void Publish(string channelId, ChatAudience audience, string method, object payload)
        => delivery.Deliver(channelId, audience, method, payload);
}
