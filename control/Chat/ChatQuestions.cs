using Broadcast.Control.Persistence;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Chat;

/// <summary>A moderator's step for a question; the hub's word for it is read once, by <see cref="QuestionActions.Parse"/>.</summary>
public enum QuestionAction
{
    /// <summary>A held question is shown to viewers.</summary>
    Approve,

    /// <summary>The question being answered now; the one before it becomes answered.</summary>
    Answering,

    /// <summary>Answered: it stays listed, marked so.</summary>
    Answered,

    /// <summary>Taken down, whatever its state.</summary>
    Dismiss,
}

/// <summary>The words the chat hub takes for <see cref="QuestionAction"/>.</summary>
public static class QuestionActions
{
    /// <summary>The action <paramref name="word"/> names; any other word is refused, naming the field <c>action</c>.</summary>
    public static QuestionAction Parse(string? word) => word switch
    {
        "approve" => QuestionAction.Approve,
        "answering" => QuestionAction.Answering,
        "answered" => QuestionAction.Answered,
        "dismiss" => QuestionAction.Dismiss,
        _ => throw ValidationFailedException.For("action", "The action must be 'approve', 'answering', 'answered' or 'dismiss'."),
    };

    public static string Word(QuestionAction action) => action switch
    {
        QuestionAction.Approve => "approve",
        QuestionAction.Answering => "answering",
        QuestionAction.Answered => "answered",
        QuestionAction.Dismiss => "dismiss",
        _ => throw new ArgumentOutOfRangeException(nameof(action), action, "a question action without a word"),
    };
}

/// <summary>
/// The chat's questions (Q&amp;A): asking (through the same checks as a message, <see cref="ChatService"/>'s one door),
/// the list, upvotes, and a moderator's steps. Storage is <see cref="IQuestionRepository"/>; upvote totals go out in
/// batches (<see cref="QuestionVoteBatch"/>), everything else through the chat's own fan-out.
/// </summary>
public sealed class ChatQuestions(ChatService chat, IQuestionRepository questions, QuestionVoteBatch votes, ILogger<ChatQuestions> logger)
{
    /// <summary>At most this many questions are listed, answering first, then by votes.</summary>
    public const int ListLimit = 200;

    /// <summary>
    /// Asks a question. The same checks as a message (mode, bans, limits, filter); in hold mode it waits for a moderator
    /// like a message. Refusals throw <see cref="ChatRefusedException"/>; nothing is stored or sent then.
    /// </summary>
    public async Task<ChatQuestion> AskAsync(string channelId, ChatViewer viewer, string? name, string? text, bool moderator,
        CancellationToken cancellationToken)
    {
        var (held, n, t, now) = await chat.AdmitAsync(channelId, viewer, name, text, moderator, cancellationToken).ConfigureAwait(false);
        var question = new ChatQuestion(RowId.New(now), channelId, viewer.ViewerId, viewer.AddressHash, viewer.Author, n, t,
            held ? QuestionState.Held : QuestionState.Open, 0, now);
        await questions.InsertAsync(question, cancellationToken).ConfigureAwait(false);
        chat.Publish(channelId, held ? ChatAudience.Moderators : ChatAudience.Viewers, "question", ChatQuestionView.Of(question));
        return question;
    }

    /// <summary>The questions viewers see (answering first, then by votes), and held ones too for moderators.</summary>
    public Task<IReadOnlyList<ChatQuestionView>> ListAsync(string channelId, bool moderator, CancellationToken cancellationToken)
        => ListAsync(questions, channelId, moderator, cancellationToken);

    /// <summary>The list of <see cref="ListAsync(string, bool, CancellationToken)"/>, for the joiner's shared history too.</summary>
    internal static async Task<IReadOnlyList<ChatQuestionView>> ListAsync(IQuestionRepository questions, string channelId, bool moderator,
        CancellationToken cancellationToken)
    {
        QuestionState[] states = moderator
            ? [QuestionState.Held, QuestionState.Open, QuestionState.Answering, QuestionState.Answered]
            : [QuestionState.Open, QuestionState.Answering, QuestionState.Answered];
        return (await questions.ListAsync(channelId, states, ListLimit, cancellationToken).ConfigureAwait(false)).Select(ChatQuestionView.Of).ToList();
    }

    /// <summary>One upvote per viewer id on an open or answering question; the new total goes out with the next flush.</summary>
    public async Task<bool> UpvoteAsync(string channelId, string questionId, ChatViewer viewer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(viewer);
        if (await chat.IsBannedAsync(channelId, viewer, cancellationToken).ConfigureAwait(false))
        {
            throw new ChatRefusedException("You are banned from this chat.");
        }

        var total = await questions.VoteAsync(channelId, questionId, viewer.ViewerId, cancellationToken).ConfigureAwait(false);
        if (total is not { } v) return false;
        votes.Add(channelId, questionId, v);
        return true;
    }

    /// <summary>A moderator's step on a question. False when the question is not in a state that allows it.</summary>
    public async Task<bool> ModerateAsync(string channelId, string questionId, QuestionAction action, string moderator,
        CancellationToken cancellationToken)
    {
        var done = action switch
        {
            QuestionAction.Approve => await ApproveAsync(channelId, questionId, cancellationToken).ConfigureAwait(false),
            QuestionAction.Answering => await AnsweringAsync(channelId, questionId, cancellationToken).ConfigureAwait(false),
            QuestionAction.Answered => await MoveAsync(channelId, questionId, [QuestionState.Open, QuestionState.Answering],
                QuestionState.Answered, cancellationToken).ConfigureAwait(false),
            QuestionAction.Dismiss => await DismissAsync(channelId, questionId, cancellationToken).ConfigureAwait(false),
            _ => throw new ArgumentOutOfRangeException(nameof(action), action, "a question action without a step"),
        };
        if (done) ChatLog.Moderated(logger, questionId, channelId, "question " + QuestionActions.Word(action), moderator);
        return done;
    }

    // Shown to viewers as a new question: they never saw it held.
    private async Task<bool> ApproveAsync(string channelId, string questionId, CancellationToken cancellationToken)
    {
        var done = await questions.TransitionAsync(channelId, questionId, [QuestionState.Held], QuestionState.Open, cancellationToken)
            .ConfigureAwait(false);
        if (done && await questions.GetAsync(channelId, questionId, cancellationToken).ConfigureAwait(false) is { } q)
        {
            chat.Publish(channelId, ChatAudience.Viewers, "question", ChatQuestionView.Of(q));
        }

        return done;
    }

    // One question is answered at a time: the one being answered before this becomes answered.
    private async Task<bool> AnsweringAsync(string channelId, string questionId, CancellationToken cancellationToken)
    {
        foreach (var current in await questions.ListAsync(channelId, [QuestionState.Answering], 10, cancellationToken).ConfigureAwait(false))
        {
            if (current.Id == questionId) continue;
            await MoveAsync(channelId, current.Id, [QuestionState.Answering], QuestionState.Answered, cancellationToken).ConfigureAwait(false);
        }

        return await MoveAsync(channelId, questionId, [QuestionState.Open, QuestionState.Answered], QuestionState.Answering, cancellationToken)
            .ConfigureAwait(false);
    }

    // Moderators see it go too: a held question they dismiss was never shown to viewers.
    private async Task<bool> DismissAsync(string channelId, string questionId, CancellationToken cancellationToken)
    {
        var done = await MoveAsync(channelId, questionId,
            [QuestionState.Held, QuestionState.Open, QuestionState.Answering, QuestionState.Answered], QuestionState.Dismissed,
            cancellationToken).ConfigureAwait(false);
        if (done) chat.Publish(channelId, ChatAudience.Moderators, "questionState", new { id = questionId, state = "dismissed" });
        return done;
    }

    // A state change viewers see as "questionState".
    private async Task<bool> MoveAsync(string channelId, string questionId, QuestionState[] from, QuestionState to,
        CancellationToken cancellationToken)
    {
        var done = await questions.TransitionAsync(channelId, questionId, from, to, cancellationToken).ConfigureAwait(false);
        if (done) chat.Publish(channelId, ChatAudience.Viewers, "questionState", new { id = questionId, state = ChatQuestion.StateName(to) });
        return done;
    }
}
