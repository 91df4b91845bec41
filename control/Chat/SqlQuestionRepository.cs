using System.Data.Common;
using Broadcast.Control.Persistence;

namespace Broadcast.Control.Chat;

/// <summary>Questions and their votes in the control database (migration 0008).</summary>
public interface IQuestionRepository
{
    Task InsertAsync(ChatQuestion question, CancellationToken cancellationToken = default);

    Task<ChatQuestion?> GetAsync(string channelId, string id, CancellationToken cancellationToken = default);

    /// <summary>A channel's questions in the given states: the one being answered first, then by votes, then oldest first.</summary>
    Task<IReadOnlyList<ChatQuestion>> ListAsync(string channelId, IReadOnlyCollection<QuestionState> states, int limit,
        CancellationToken cancellationToken = default);

    /// <summary>Moves a question from one of <paramref name="from"/> to <paramref name="to"/>; false when it is in none of them.</summary>
    Task<bool> TransitionAsync(string channelId, string id, IReadOnlyCollection<QuestionState> from, QuestionState to,
        CancellationToken cancellationToken = default);

    /// <summary>Counts one viewer's vote on an open or answering question: the new total, or null when they had voted or it is not votable.</summary>
    Task<int?> VoteAsync(string channelId, string id, string viewerId, CancellationToken cancellationToken = default);
}

public sealed class SqlQuestionRepository(ControlDatabase database) : IQuestionRepository
{
    private const string Columns = "id, channel_id, viewer_id, address_hash, author, display_name, body, state, votes, created_at";

    public async Task InsertAsync(ChatQuestion question, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(question);
        await Sql.ExecuteAsync(database,
            $"INSERT INTO chat_questions ({Columns}) VALUES (@id, @channel_id, @viewer_id, @address_hash, @author, @display_name, @body, @state, " +
            "@votes, @created_at)",
            c =>
            {
                Sql.Add(c, "id", question.Id);
                Sql.Add(c, "channel_id", question.ChannelId);
                Sql.Add(c, "viewer_id", question.ViewerId);
                Sql.Add(c, "address_hash", question.AddressHash);
                Sql.Add(c, "author", question.Author);
                Sql.Add(c, "display_name", question.DisplayName);
                Sql.Add(c, "body", question.Text);
                Sql.Add(c, "state", ChatQuestion.StateName(question.State));
                Sql.Add(c, "votes", question.Votes);
                Sql.Add(c, "created_at", Sql.Millis(question.CreatedAt));
            }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<ChatQuestion?> GetAsync(string channelId, string id, CancellationToken cancellationToken = default)
    {
        var rows = await Sql.QueryAsync(database, $"SELECT {Columns} FROM chat_questions WHERE channel_id = @channel_id AND id = @id", c =>
        {
            Sql.Add(c, "channel_id", channelId);
            Sql.Add(c, "id", id);
        }, Map, cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<IReadOnlyList<ChatQuestion>> ListAsync(string channelId, IReadOnlyCollection<QuestionState> states, int limit,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(states);
        if (states.Count == 0) return [];
        var names = states.Select((s, i) => $"@s{i}").ToList();
        return await Sql.QueryAsync(database,
            $"SELECT {Columns} FROM chat_questions WHERE channel_id = @channel_id AND state IN ({string.Join(", ", names)}) " +
            "ORDER BY CASE WHEN state = 'answering' THEN 0 ELSE 1 END, votes DESC, created_at, id LIMIT @limit", c =>
            {
                Sql.Add(c, "channel_id", channelId);
                var i = 0;
                foreach (var s in states) Sql.Add(c, $"s{i++}", ChatQuestion.StateName(s));
                Sql.Add(c, "limit", limit);
            }, Map, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> TransitionAsync(string channelId, string id, IReadOnlyCollection<QuestionState> from, QuestionState to,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(from);
        var names = from.Select((s, i) => $"@f{i}").ToList();
        return await Sql.ExecuteAsync(database,
            $"UPDATE chat_questions SET state = @to WHERE channel_id = @channel_id AND id = @id AND state IN ({string.Join(", ", names)})", c =>
            {
                Sql.Add(c, "to", ChatQuestion.StateName(to));
                Sql.Add(c, "channel_id", channelId);
                Sql.Add(c, "id", id);
                var i = 0;
                foreach (var s in from) Sql.Add(c, $"f{i++}", ChatQuestion.StateName(s));
            }, cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<int?> VoteAsync(string channelId, string id, string viewerId, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // The vote row first: the primary key makes a second vote of one viewer a no-op, on any node.
        var inserted = await Sql.ExecuteAsync(connection, transaction,
            "INSERT INTO chat_question_votes (question_id, viewer_id) SELECT id, @viewer_id FROM chat_questions " +
            "WHERE channel_id = @channel_id AND id = @id AND state IN ('open', 'answering') ON CONFLICT (question_id, viewer_id) DO NOTHING",
            c =>
            {
                Sql.Add(c, "viewer_id", viewerId);
                Sql.Add(c, "channel_id", channelId);
                Sql.Add(c, "id", id);
            }, cancellationToken).ConfigureAwait(false);
        if (inserted != 1)
        {
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }

        await Sql.ExecuteAsync(connection, transaction, "UPDATE chat_questions SET votes = votes + 1 WHERE id = @id", c => Sql.Add(c, "id", id),
            cancellationToken)
            .ConfigureAwait(false);
        await using var read = connection.CreateCommand();
        read.Transaction = transaction;
        read.CommandText = "SELECT votes FROM chat_questions WHERE id = @id";
        Sql.Add(read, "id", id);
        var votes = Convert.ToInt32(await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false),
            System.Globalization.CultureInfo.InvariantCulture);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return votes;
    }

    private static ChatQuestion Map(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6),
        ChatQuestion.ParseState(r.GetString(7)), Convert.ToInt32(r.GetValue(8), System.Globalization.CultureInfo.InvariantCulture), Sql.Time(r, 9));
}
