using System.Data.Common;
using Broadcast.Control.Persistence;

namespace Broadcast.Control.Chat;

/// <summary>Chat settings, messages and bans in the control database (SQLite or PostgreSQL, migration 0008).</summary>
public interface IChatRepository
{
    Task<ChatRoomSettings?> GetSettingsAsync(string channelId, CancellationToken cancellationToken = default);

    Task SaveSettingsAsync(string channelId, ChatRoomSettings settings, DateTimeOffset now, CancellationToken cancellationToken = default);

    Task InsertMessageAsync(ChatMessage message, CancellationToken cancellationToken = default);

    Task<ChatMessage?> GetMessageAsync(string channelId, string id, CancellationToken cancellationToken = default);

    /// <summary>Moves a message from <paramref name="from"/> to <paramref name="to"/>; false when it is not in that state.</summary>
    Task<bool> TransitionAsync(string channelId, string id, ChatMessageState from, ChatMessageState to, DateTimeOffset? shownAt,
        CancellationToken cancellationToken = default);

    /// <summary>The newest <paramref name="count"/> messages in <paramref name="state"/>, oldest first.</summary>
    Task<IReadOnlyList<ChatMessage>> ListRecentAsync(string channelId, ChatMessageState state, int count,
        CancellationToken cancellationToken = default);

    /// <summary>Messages that were visible (and still are) with <c>from ≤ shown_at &lt; to</c>, in the order viewers saw them.</summary>
    Task<IReadOnlyList<ChatMessage>> ListShownBetweenAsync(string channelId, DateTimeOffset from, DateTimeOffset to, int limit,
        CancellationToken cancellationToken = default);

    Task InsertBanAsync(ChatBan ban, CancellationToken cancellationToken = default);

    /// <summary>Bans and time-outs of a channel still in force at <paramref name="now"/>, newest first.</summary>
    Task<IReadOnlyList<ChatBan>> ListBansAsync(string channelId, DateTimeOffset now, CancellationToken cancellationToken = default);

    Task<bool> DeleteBanAsync(string channelId, string id, CancellationToken cancellationToken = default);

    /// <summary>Deletes messages sent and questions asked before <paramref name="cutoff"/>, and expired time-outs;
    /// returns how many rows went.</summary>
    Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default);
}

public sealed class SqlChatRepository(ControlDatabase database) : IChatRepository
{
    private const string MessageColumns = "id, channel_id, viewer_id, address_hash, author, display_name, body, state, moderator, sent_at, shown_at";
    private const string BanColumns = "id, channel_id, viewer_id, address_hash, author, display_name, reason, created_by, created_at, expires_at, " +
        "seen_address_hash";

    public async Task<ChatRoomSettings?> GetSettingsAsync(string channelId, CancellationToken cancellationToken = default)
    {
        var rows = await Sql.QueryAsync(database,
            "SELECT mode, slow_mode_seconds, links, blocked_words FROM chat_settings WHERE channel_id = @channel_id",
            c => Sql.Add(c, "channel_id", channelId), r =>
            {
                ChatRoomSettings.TryParseMode(r.GetString(0), out var mode);
                ChatRoomSettings.TryParseLinks(r.GetString(2), out var links);
                var words = r.GetString(3).Split('\n', StringSplitOptions.RemoveEmptyEntries);
                return new ChatRoomSettings(mode, Convert.ToInt32(r.GetValue(1), System.Globalization.CultureInfo.InvariantCulture), links, words);
            }, cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task SaveSettingsAsync(string channelId, ChatRoomSettings settings, DateTimeOffset now,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        // ON CONFLICT … DO UPDATE is the same in both back-ends (SQLite 3.24+).
        await Sql.ExecuteAsync(database,
            "INSERT INTO chat_settings (channel_id, mode, slow_mode_seconds, links, blocked_words, updated_at) " +
            "VALUES (@channel_id, @mode, @slow, @links, @words, @updated_at) ON CONFLICT (channel_id) DO UPDATE SET " +
            "mode = excluded.mode, slow_mode_seconds = excluded.slow_mode_seconds, links = excluded.links, " +
            "blocked_words = excluded.blocked_words, updated_at = excluded.updated_at",
            c =>
            {
                Sql.Add(c, "channel_id", channelId);
                Sql.Add(c, "mode", ChatRoomSettings.ModeName(settings.Mode));
                Sql.Add(c, "slow", settings.SlowModeSeconds);
                Sql.Add(c, "links", ChatRoomSettings.LinksName(settings.Links));
                Sql.Add(c, "words", string.Join('\n', settings.BlockedWords));
                Sql.Add(c, "updated_at", Sql.Millis(now));
            }, cancellationToken).ConfigureAwait(false);
    }

    public async Task InsertMessageAsync(ChatMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        await Sql.ExecuteAsync(database,
            $"INSERT INTO chat_messages ({MessageColumns}) VALUES (@id, @channel_id, @viewer_id, @address_hash, @author, @display_name, @body, " +
            "@state, @moderator, @sent_at, @shown_at)",
            c =>
            {
                Sql.Add(c, "id", message.Id);
                Sql.Add(c, "channel_id", message.ChannelId);
                Sql.Add(c, "viewer_id", message.ViewerId);
                Sql.Add(c, "address_hash", message.AddressHash);
                Sql.Add(c, "author", message.Author);
                Sql.Add(c, "display_name", message.DisplayName);
                Sql.Add(c, "body", message.Text);
                Sql.Add(c, "state", StateName(message.State));
                Sql.Add(c, "moderator", message.FromModerator);
                Sql.Add(c, "sent_at", Sql.Millis(message.SentAt));
                Sql.Add(c, "shown_at", message.ShownAt is { } s ? Sql.Millis(s) : null);
            }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ChatMessage?> GetMessageAsync(string channelId, string id, CancellationToken cancellationToken = default)
    {
        var rows = await Sql.QueryAsync(database, $"SELECT {MessageColumns} FROM chat_messages WHERE channel_id = @channel_id AND id = @id", c =>
        {
            Sql.Add(c, "channel_id", channelId);
            Sql.Add(c, "id", id);
        }, MapMessage, cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<bool> TransitionAsync(string channelId, string id, ChatMessageState from, ChatMessageState to, DateTimeOffset? shownAt,
        CancellationToken cancellationToken = default)
        => await Sql.ExecuteAsync(database,
            "UPDATE chat_messages SET state = @to, shown_at = COALESCE(@shown_at, shown_at) WHERE channel_id = @channel_id AND id = @id AND state " +
            "= @from",
            c =>
            {
                Sql.Add(c, "to", StateName(to));
                Sql.Add(c, "shown_at", shownAt is { } s ? Sql.Millis(s) : null);
                Sql.Add(c, "channel_id", channelId);
                Sql.Add(c, "id", id);
                Sql.Add(c, "from", StateName(from));
            }, cancellationToken).ConfigureAwait(false) == 1;

    public async Task<IReadOnlyList<ChatMessage>> ListRecentAsync(string channelId, ChatMessageState state, int count,
        CancellationToken cancellationToken = default)
    {
        var order = state == ChatMessageState.Visible ? "shown_at" : "sent_at";
        var rows = await Sql.QueryAsync(database,
            $"SELECT {MessageColumns} FROM chat_messages WHERE channel_id = @channel_id AND state = @state ORDER BY {order} DESC, " +
            "id DESC LIMIT @count", c =>
            {
                Sql.Add(c, "channel_id", channelId);
                Sql.Add(c, "state", StateName(state));
                Sql.Add(c, "count", count);
            }, MapMessage, cancellationToken).ConfigureAwait(false);
        rows.Reverse();
        return rows;
    }

    public async Task<IReadOnlyList<ChatMessage>> ListShownBetweenAsync(string channelId, DateTimeOffset from, DateTimeOffset to, int limit,
        CancellationToken cancellationToken = default)
        => await Sql.QueryAsync(database,
            $"SELECT {MessageColumns} FROM chat_messages WHERE channel_id = @channel_id AND state = 'visible' AND shown_at >= @from AND shown_at < " +
            "@to " +
            "ORDER BY shown_at, id LIMIT @limit", c =>
            {
                Sql.Add(c, "channel_id", channelId);
                Sql.Add(c, "from", Sql.Millis(from));
                Sql.Add(c, "to", Sql.Millis(to));
                Sql.Add(c, "limit", limit);
            }, MapMessage, cancellationToken).ConfigureAwait(false);

    public async Task InsertBanAsync(ChatBan ban, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ban);
        await Sql.ExecuteAsync(database,
            $"INSERT INTO chat_bans ({BanColumns}) VALUES (@id, @channel_id, @viewer_id, @address_hash, @author, @display_name, @reason, " +
            "@created_by, @created_at, @expires_at, @seen_address_hash)",
            c =>
            {
                Sql.Add(c, "id", ban.Id);
                Sql.Add(c, "channel_id", ban.ChannelId);
                Sql.Add(c, "viewer_id", ban.ViewerId);
                Sql.Add(c, "address_hash", ban.AddressHash);
                Sql.Add(c, "author", ban.Author);
                Sql.Add(c, "display_name", ban.DisplayName);
                Sql.Add(c, "reason", ban.Reason);
                Sql.Add(c, "created_by", ban.CreatedBy);
                Sql.Add(c, "created_at", Sql.Millis(ban.CreatedAt));
                Sql.Add(c, "expires_at", ban.ExpiresAt is { } e ? Sql.Millis(e) : null);
                Sql.Add(c, "seen_address_hash", ban.SeenAddressHash);
            }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ChatBan>> ListBansAsync(string channelId, DateTimeOffset now, CancellationToken cancellationToken = default)
        => await Sql.QueryAsync(database,
            $"SELECT {BanColumns} FROM chat_bans WHERE channel_id = @channel_id AND (expires_at IS NULL OR expires_at > @now) ORDER BY created_at " +
            "DESC, id DESC",
            c =>
            {
                Sql.Add(c, "channel_id", channelId);
                Sql.Add(c, "now", Sql.Millis(now));
            }, MapBan, cancellationToken).ConfigureAwait(false);

    public async Task<bool> DeleteBanAsync(string channelId, string id, CancellationToken cancellationToken = default)
        => await Sql.ExecuteAsync(database, "DELETE FROM chat_bans WHERE channel_id = @channel_id AND id = @id", c =>
        {
            Sql.Add(c, "channel_id", channelId);
            Sql.Add(c, "id", id);
        }, cancellationToken).ConfigureAwait(false) == 1;

    public async Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default)
    {
        var deleted = 0;
        foreach (var sql in new[]
        {
            "DELETE FROM chat_messages WHERE sent_at < @cutoff",
            "DELETE FROM chat_questions WHERE created_at < @cutoff",
            "DELETE FROM chat_bans WHERE expires_at IS NOT NULL AND expires_at < @cutoff",
        })
        {
            deleted += await Sql.ExecuteAsync(database, sql, c => Sql.Add(c, "cutoff", Sql.Millis(cutoff)), cancellationToken).ConfigureAwait(false);
        }

        return deleted;
    }

    private static string StateName(ChatMessageState state) => state switch
    {
        ChatMessageState.Held => "held",
        ChatMessageState.Deleted => "deleted",
        _ => "visible",
    };

    private static ChatMessage MapMessage(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6),
        r.GetString(7) switch { "held" => ChatMessageState.Held, "deleted" => ChatMessageState.Deleted, _ => ChatMessageState.Visible },
        r.GetBoolean(8), Sql.Time(r, 9), Sql.NullableTime(r, 10));

    private static ChatBan MapBan(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), Sql.NullableString(r, 3), r.GetString(4), r.GetString(5), r.GetString(6),
        r.GetString(7), Sql.Time(r, 8), Sql.NullableTime(r, 9), Sql.NullableString(r, 10));
}
