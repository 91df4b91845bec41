namespace Broadcast.Control.Chat;

/// <summary>Where a message stands: shown to viewers, waiting for a moderator, or removed.</summary>
public enum ChatMessageState
{
    Visible,
    Held,
    Deleted,
}

/// <summary>
/// One chat message as stored. <see cref="ViewerId"/> and <see cref="AddressHash"/> never leave the server;
/// <see cref="Author"/> is what viewers see of the sender. <see cref="ShownAt"/> is when it became visible (on
/// posting in open mode, on approval in hold mode): the time a recording's replay shows it at.
/// </summary>
public sealed record ChatMessage(
    string Id,
    string ChannelId,
    string ViewerId,
    string AddressHash,
    string Author,
    string DisplayName,
    string Text,
    ChatMessageState State,
    bool FromModerator,
    DateTimeOffset SentAt,
    DateTimeOffset? ShownAt);

/// <summary>A ban (no <see cref="ExpiresAt"/>) or a time-out of one viewer on one channel, with why and by whom.</summary>
public sealed record ChatBan(
    string Id,
    string ChannelId,
    string ViewerId,
    string? AddressHash,
    string Author,
    string DisplayName,
    string Reason,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    string? SeenAddressHash = null)
{
    public bool IsActive(DateTimeOffset now) => ExpiresAt is null || ExpiresAt > now;
}
