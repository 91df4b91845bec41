using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Serialization;
using Broadcast.Control.Persistence;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Chat;

/// <summary>A message as viewers receive it: no viewer id or address, only the author tag. <c>At</c>: Unix milliseconds it was shown.</summary>
public sealed record ChatMessageView(string Id, string Author, string Name, string Text, long At, bool Moderator);

/// <summary>A message waiting for a moderator. <c>SentAt</c>: Unix milliseconds.</summary>
public sealed record ChatHeldView(string Id, string Author, string Name, string Text, long SentAt);

/// <summary>A channel's settings as viewers see them (the blocked words stay with moderators).</summary>
public sealed record ChatSettingsView(string Mode, int SlowModeSeconds, string Links);

/// <summary>A ban or time-out as moderators see it. <c>ExpiresAt</c>: Unix milliseconds, null for a ban.</summary>
public sealed record ChatBanView(string Id, string Author, string Name, string Reason, string CreatedBy, long CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] long? ExpiresAt, bool ByAddress);

/// <summary>Who is posting: a verified viewer id and the salted hash of the connection's address.</summary>
public sealed record ChatViewer(string ViewerId, string AddressHash, string Author);

/// <summary>Something a chat request got wrong or may not do now; the message is meant for the viewer.</summary>
public sealed class ChatRefusedException(string message) : Exception(message);

/// <summary>
/// The chat of every channel: posting (validation, bans, limits, filter, hold-for-review: the one door a message and a
/// question pass, <see cref="AdmitAsync"/>), moderation (approve, delete, time out, ban) and settings; questions are
/// <see cref="ChatQuestions"/>'. Storage is <see cref="IChatRepository"/>, delivery <see cref="IChatFanout"/>.
/// Settings and bans are cached per channel for a moment (<see cref="CacheLifetime"/>): a change made on this node
/// applies at once, one made on another node as soon as its fan-out event arrives (<see cref="ChatRoomVersions"/>), and
/// within that time at the latest.
/// </summary>
public sealed class ChatService(IChatRepository repository, IQuestionRepository questions, ChatRateLimiter limiter,
    ChatIdentity identity, IChatFanout fanout, ChatOptions options, TimeProvider time, ILogger<ChatService> logger, ChatRoomVersions? versions = null)
{
    private readonly ChatRoomVersions _versions = versions ?? new ChatRoomVersions();

    /// <summary>
    /// How old the history a joining viewer is handed may be: every viewer's join read the channel's recent messages
    /// and questions (two queries), so joins share one read per channel while nothing in it changes, and for this at
    /// most (a crowd arriving at a start, or a client reconnecting in a loop, costs the database one read a second, or
    /// one per message in a busy chat). A message shown or taken down, here or on another node (its fan-out event),
    /// starts a new read.
    /// </summary>
    public static readonly TimeSpan JoinHistoryLifetime = TimeSpan.FromSeconds(1);

    // By channel and its history version: a message shown or taken down, here or on another node, starts a new read.
    private readonly Persistence.SharedReads<(string Channel, long Version), ViewerHistory> _viewerHistories = new(JoinHistoryLifetime, 10_000, time);

    /// <summary>A channel's recent visible messages and the questions viewers see, as a joining viewer is handed them.</summary>
    public sealed record ViewerHistory(IReadOnlyList<ChatMessageView> Messages, IReadOnlyList<ChatQuestionView> Questions);

    /// <summary>What a joining viewer (not a moderator) is handed: shared between joins for <see cref="JoinHistoryLifetime"/>.</summary>
    public Task<ViewerHistory> ViewerHistoryAsync(string channelId)
        => _viewerHistories.GetAsync((channelId, _versions.GetHistory(channelId)), async key =>
    {
        var (visible, _) = await RecentAsync(key.Channel, moderator: false, CancellationToken.None).ConfigureAwait(false);
        return new ViewerHistory(visible,
            await ChatQuestions.ListAsync(questions, key.Channel, moderator: false, CancellationToken.None).ConfigureAwait(false));
    });

    /// <summary>Every event of this node's chat goes out here: one that changes a joiner's history moves its version first.</summary>
    internal void Publish(string channelId, ChatAudience audience, string method, object payload)
    {
        _versions.Observe(channelId, audience, method);
        fanout.Publish(channelId, audience, method, payload);
    }

    public static readonly TimeSpan CacheLifetime = TimeSpan.FromSeconds(2);
    public const int MaxReasonLength = 200;
    public const int MaxTimeoutMinutes = 60 * 24 * 30;

    private readonly ConcurrentDictionary<string, Room> _rooms = new(StringComparer.Ordinal);

    public ChatOptions Options => options;

    /// <summary>The viewer behind a presented id (a fresh id when none or a forged one is presented).</summary>
    /// <summary>The viewer a platform JWT names (<c>sub</c>): a viewer id derived from it, so it is the same on every join.</summary>
    public ChatViewer IdentifyPlatformViewer(string platformViewerId, IPAddress? address)
    {
        var id = identity.PlatformViewerId(platformViewerId);
        return new ChatViewer(id, identity.HashAddress(address), identity.AuthorTag(id));
    }

    public ChatViewer Identify(string? presentedViewerId, IPAddress? address)
    {
        var id = identity.IsValid(presentedViewerId) ? presentedViewerId! : identity.NewViewerId();
        return new ChatViewer(id, identity.HashAddress(address), identity.AuthorTag(id));
    }

    public async Task<ChatRoomSettings> GetSettingsAsync(string channelId, CancellationToken cancellationToken)
        => (await RoomAsync(channelId, cancellationToken).ConfigureAwait(false)).Settings;

    public async Task<ChatRoomSettings> SaveSettingsAsync(string channelId, string? mode, int? slowModeSeconds, string? links,
        IReadOnlyList<string?>? blockedWords, CancellationToken cancellationToken)
    {
        var current = await GetSettingsAsync(channelId, cancellationToken).ConfigureAwait(false);
        var settings = ChatRoomSettings.Parse(current, mode, slowModeSeconds, links, blockedWords);
        await repository.SaveSettingsAsync(channelId, settings, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        _rooms.TryRemove(channelId, out _);
        ChatLog.SettingsChanged(logger, channelId, ChatRoomSettings.ModeName(settings.Mode), settings.SlowModeSeconds,
            ChatRoomSettings.LinksName(settings.Links), settings.BlockedWords.Count);
        Publish(channelId, ChatAudience.Viewers, "settings", View(settings));
        return settings;
    }

    public static ChatSettingsView View(ChatRoomSettings s)
        => new(ChatRoomSettings.ModeName(s.Mode), s.SlowModeSeconds, ChatRoomSettings.LinksName(s.Links));

    /// <summary>
    /// Posts a message. Returns it (visible or held). Refusals throw <see cref="ChatRefusedException"/> with a
    /// sentence for the viewer; nothing is stored or sent then.
    /// </summary>
    public async Task<ChatMessage> PostAsync(string channelId, ChatViewer viewer, string? name, string? text, bool moderator,
        CancellationToken cancellationToken)
    {
        var (held, n, t, now) = await AdmitAsync(channelId, viewer, name, text, moderator, cancellationToken).ConfigureAwait(false);
        var message = new ChatMessage(RowId.New(now), channelId, viewer.ViewerId, viewer.AddressHash, viewer.Author, n, t,
            held ? ChatMessageState.Held : ChatMessageState.Visible, moderator, now, held ? null : now);
        await repository.InsertMessageAsync(message, cancellationToken).ConfigureAwait(false);
        if (held)
        {
            Publish(channelId, ChatAudience.Moderators, "held", HeldView(message));
        }
        else
        {
            Publish(channelId, ChatAudience.Viewers, "message", View(message));
        }

        return message;
    }

    // The checks every message and question passes: name and text, then (for viewers) chat off, bans, limits, filter.
    internal async Task<(bool Held, string Name, string Text, DateTimeOffset Now)> AdmitAsync(string channelId, ChatViewer viewer, string? name,
        string? text,
        bool moderator, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(viewer);
        var room = await RoomAsync(channelId, cancellationToken).ConfigureAwait(false);
        var n = ChatText.ValidateName(name, options.MaxNameLength, out var nameError) ?? throw new ChatRefusedException(nameError!);
        var t = ChatText.ValidateMessage(text, options.MaxMessageLength, out var textError) ?? throw new ChatRefusedException(textError!);
        var now = time.GetUtcNow();
        if (!moderator)
        {
            if (room.Settings.Mode == ChatMode.Off) throw Refuse(channelId, "The chat is off.");

            // The limits come before bans: a banned or held-back client that keeps sending is slowed down like any other,
            // so its refusals cost the node no more than a viewer's messages would.
            switch (limiter.TryAcquire(channelId, viewer.ViewerId, viewer.AddressHash, room.Settings.SlowModeSeconds, out var wait))
            {
                case ChatLimitVerdict.SlowMode:
                    throw Refuse(channelId, $"Slow mode is on: wait {Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds))} s before your next message.");
                case ChatLimitVerdict.Viewer:
                case ChatLimitVerdict.Address:
                    throw Refuse(channelId, $"You are sending messages too fast: wait {Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds))} s.");
                case ChatLimitVerdict.Channel:
                    ChatLog.ChannelCap(logger, channelId, options.ChannelMessagesPerSecond);
                    throw new ChatRefusedException("The chat is very busy right now: try again in a moment.");
            }

            if (room.BanOf(viewer, now) is { } ban)
            {
                throw Refuse(channelId, ban.ExpiresAt is { } until
                    ? $"You are timed out of this chat until {until.UtcDateTime:HH:mm} UTC."
                    : "You are banned from this chat.");
            }

            if (FreshFromBannedAddress(room, viewer, now) is { } mayPostAt)
            {
                throw Refuse(channelId,
                    $"New viewers from your network may post in this chat from {mayPostAt.UtcDateTime:HH:mm} UTC; you can read it meanwhile.");
            }

            var verdict = room.Filter.Check(t);
            if (verdict != ChatFilterVerdict.None) throw Refuse(channelId, ChatFilter.Describe(verdict));
            limiter.MarkSent(channelId, viewer.ViewerId, room.Settings.SlowModeSeconds);
        }

        return (!moderator && room.Settings.Mode == ChatMode.Hold, n, t, now);
    }

    /// <summary>The recent visible messages, and for moderators the held ones, of a channel.</summary>
    public async Task<(IReadOnlyList<ChatMessageView> Visible, IReadOnlyList<ChatHeldView> Held)> RecentAsync(string channelId, bool moderator,
        CancellationToken cancellationToken)
    {
        var visible = options.HistoryCount == 0 ? []
            : await repository.ListRecentAsync(channelId, ChatMessageState.Visible, options.HistoryCount, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<ChatMessage> held = moderator
            ? await repository.ListRecentAsync(channelId, ChatMessageState.Held, 200, cancellationToken).ConfigureAwait(false)
            : [];
        return (visible.Select(View).ToList(), held.Select(HeldView).ToList());
    }

    /// <summary>Shows a held message to everyone. False when it is not held (approved or deleted already).</summary>
    public async Task<bool> ApproveAsync(string channelId, string messageId, string moderator, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (!await repository.TransitionAsync(channelId, messageId, ChatMessageState.Held, ChatMessageState.Visible, now,
            cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        var message = await repository.GetMessageAsync(channelId, messageId, cancellationToken).ConfigureAwait(false);
        if (message is null) return false;
        ChatLog.Moderated(logger, messageId, channelId, "approved", moderator);
        Publish(channelId, ChatAudience.Moderators, "resolved", new { id = messageId });
        Publish(channelId, ChatAudience.Viewers, "message", View(message));
        return true;
    }

    /// <summary>Removes a visible or held message for everyone. False when there is no such message left.</summary>
    public async Task<bool> DeleteAsync(string channelId, string messageId, string moderator, CancellationToken cancellationToken)
    {
        var done = await repository.TransitionAsync(channelId, messageId, ChatMessageState.Visible, ChatMessageState.Deleted, null,
            cancellationToken).ConfigureAwait(false)
            || await repository.TransitionAsync(channelId, messageId, ChatMessageState.Held, ChatMessageState.Deleted, null,
                cancellationToken).ConfigureAwait(false);
        if (!done) return false;
        ChatLog.Moderated(logger, messageId, channelId, "deleted", moderator);
        Publish(channelId, ChatAudience.Viewers, "removed", new { id = messageId });
        Publish(channelId, ChatAudience.Moderators, "resolved", new { id = messageId });
        return true;
    }

    /// <summary>
    /// Bans (no <paramref name="minutes"/>) or times out the author of a message, by viewer id and, when
    /// <paramref name="byAddress"/>, by the salted hash of their address too; the message is removed.
    /// </summary>
    /// <exception cref="ValidationFailedException">Reason or minutes out of range.</exception>
    public async Task<ChatBan?> BanAsync(string channelId, string messageId, string? reason, int? minutes, bool byAddress, string moderator,
        CancellationToken cancellationToken)
    {
        var r = (reason ?? "").Trim();
        if (r.Length > MaxReasonLength || r.Any(char.IsControl))
            throw ValidationFailedException.For("reason", $"The reason is at most {MaxReasonLength} characters, no control characters.");
        if (minutes is < 1 or > MaxTimeoutMinutes)
            throw ValidationFailedException.For("minutes", $"A time-out lasts 1 to {MaxTimeoutMinutes} minutes; leave it out for a ban.");
        var message = await repository.GetMessageAsync(channelId, messageId, cancellationToken).ConfigureAwait(false);
        if (message is null) return null;
        var now = time.GetUtcNow();
        var ban = new ChatBan(RowId.New(now), channelId, message.ViewerId, byAddress ? message.AddressHash : null,
            message.Author, message.DisplayName, r.Length == 0 ? "(no reason given)" : r, moderator, now, minutes is { } m ? now.AddMinutes(m) : null,
            SeenAddressHash: message.AddressHash);
        await repository.InsertBanAsync(ban, cancellationToken).ConfigureAwait(false);
        _rooms.TryRemove(channelId, out _);
        ChatLog.Banned(logger, ban.Author, ban.DisplayName, channelId, minutes is null ? "banned" : "timed out", moderator,
            ban.ExpiresAt?.ToString("O", System.Globalization.CultureInfo.InvariantCulture) ?? "revoked", ban.Reason);
        await DeleteAsync(channelId, messageId, moderator, cancellationToken).ConfigureAwait(false);
        Publish(channelId, ChatAudience.Moderators, "bans", await ListBansAsync(channelId, cancellationToken).ConfigureAwait(false));
        return ban;
    }

    public async Task<bool> UnbanAsync(string channelId, string banId, string moderator, CancellationToken cancellationToken)
    {
        if (!await repository.DeleteBanAsync(channelId, banId, cancellationToken).ConfigureAwait(false)) return false;
        _rooms.TryRemove(channelId, out _);
        ChatLog.Unbanned(logger, banId, channelId, moderator);
        Publish(channelId, ChatAudience.Moderators, "bans", await ListBansAsync(channelId, cancellationToken).ConfigureAwait(false));
        return true;
    }

    public async Task<IReadOnlyList<ChatBanView>> ListBansAsync(string channelId, CancellationToken cancellationToken)
        => (await repository.ListBansAsync(channelId, time.GetUtcNow(), cancellationToken).ConfigureAwait(false))
            .Select(b => new ChatBanView(b.Id, b.Author, b.DisplayName, b.Reason, b.CreatedBy, b.CreatedAt.ToUnixTimeMilliseconds(),
                b.ExpiresAt?.ToUnixTimeMilliseconds(), b.AddressHash is not null))
            .ToList();

    /// <summary>
    /// When a viewer id minted a moment ago from the address of a viewer banned or timed out on this channel may post
    /// (<see cref="ChatOptions.FreshViewerWaitMinutes"/>), or null when it may now: a ban by viewer id is otherwise undone
    /// by opening a private window, which mints a new id. Only an id minted since the sanction is held: the viewers of
    /// that network who were there before it (and anyone after the wait) are not.
    /// </summary>
    private DateTimeOffset? FreshFromBannedAddress(Room room, ChatViewer viewer, DateTimeOffset now)
    {
        if (options.FreshViewerWaitMinutes <= 0 || identity.IssuedAt(viewer.ViewerId) is not { } issued) return null;
        var mayPostAt = issued.AddMinutes(options.FreshViewerWaitMinutes);
        return mayPostAt > now && room.HasBanAt(viewer.AddressHash, issued, now) ? mayPostAt : null;
    }

    /// <summary>Whether a viewer is banned or timed out on a channel now.</summary>
    public async Task<bool> IsBannedAsync(string channelId, ChatViewer viewer, CancellationToken cancellationToken)
        => (await RoomAsync(channelId, cancellationToken).ConfigureAwait(false)).BanOf(viewer, time.GetUtcNow()) is not null;

    /// <summary>The messages a recording's replay shows: those shown between its start and end, in order.</summary>
    public async Task<IReadOnlyList<ChatMessageView>> ReplayAsync(string channelId, DateTimeOffset from, DateTimeOffset to,
        CancellationToken cancellationToken)
        => (await repository.ListShownBetweenAsync(channelId, from, to, 10_000, cancellationToken).ConfigureAwait(false)).Select(View).ToList();

    public static ChatMessageView View(ChatMessage m)
        => new(m.Id, m.Author, m.DisplayName, m.Text, (m.ShownAt ?? m.SentAt).ToUnixTimeMilliseconds(), m.FromModerator);

    public static ChatHeldView HeldView(ChatMessage m) => new(m.Id, m.Author, m.DisplayName, m.Text, m.SentAt.ToUnixTimeMilliseconds());

    private ChatRefusedException Refuse(string channelId, string reason)
    {
        ChatLog.Refused(logger, channelId, reason);
        return new ChatRefusedException(reason);
    }

    private async Task<Room> RoomAsync(string channelId, CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        var version = _versions.Get(channelId);
        if (_rooms.TryGetValue(channelId, out var room) && room.Version == version
            && time.GetElapsedTime(room.LoadedAt, now) < CacheLifetime) return room;
        var settings = await repository.GetSettingsAsync(channelId, cancellationToken).ConfigureAwait(false) ?? ChatRoomSettings.Default;
        var bans = await repository.ListBansAsync(channelId, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        room = new Room(settings, new ChatFilter(settings), bans, now, version);
        _rooms[channelId] = room;
        return room;
    }

    private sealed class Room(ChatRoomSettings settings, ChatFilter filter, IReadOnlyList<ChatBan> bans, long loadedAt, long version)
    {
        public long Version { get; } = version;

        public ChatRoomSettings Settings { get; } = settings;

        public ChatFilter Filter { get; } = filter;

        public long LoadedAt { get; } = loadedAt;

        /// <summary>
        /// Whether a viewer seen at <paramref name="addressHash"/> is banned or timed out here now, by a sanction made no
        /// later than <paramref name="since"/> (to the second: a viewer id carries its issue time in whole seconds).
        /// </summary>
        public bool HasBanAt(string addressHash, DateTimeOffset since, DateTimeOffset now)
        {
            foreach (var b in bans)
            {
                if (b.IsActive(now) && string.Equals(b.SeenAddressHash ?? b.AddressHash, addressHash, StringComparison.Ordinal)
                    && DateTimeOffset.FromUnixTimeSeconds(b.CreatedAt.ToUnixTimeSeconds()) <= since)
                    return true;
            }

            return false;
        }

        public ChatBan? BanOf(ChatViewer viewer, DateTimeOffset now)
        {
            foreach (var b in bans)
            {
                if (b.IsActive(now) && (string.Equals(b.ViewerId, viewer.ViewerId, StringComparison.Ordinal)
                    || (b.AddressHash is not null && string.Equals(b.AddressHash, viewer.AddressHash, StringComparison.Ordinal))))
                {
                    return b;
                }
            }

            return null;
        }
    }
}
