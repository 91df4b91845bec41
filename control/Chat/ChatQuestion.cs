namespace Broadcast.Control.Chat;

/// <summary>Where a question stands. Viewers see open, answering and answered ones; held ones only moderators.</summary>
public enum QuestionState
{
    Held,
    Open,
    Answering,
    Answered,
    Dismissed,
}

/// <summary>A viewer's question (Q&amp;A). <see cref="Votes"/> counts distinct viewer ids that upvoted it.</summary>
public sealed record ChatQuestion(
    string Id,
    string ChannelId,
    string ViewerId,
    string AddressHash,
    string Author,
    string DisplayName,
    string Text,
    QuestionState State,
    int Votes,
    DateTimeOffset CreatedAt)
{
    public static string StateName(QuestionState state) => state switch
    {
        QuestionState.Held => "held",
        QuestionState.Answering => "answering",
        QuestionState.Answered => "answered",
        QuestionState.Dismissed => "dismissed",
        _ => "open",
    };

    public static QuestionState ParseState(string value) => value switch
    {
        "held" => QuestionState.Held,
        "answering" => QuestionState.Answering,
        "answered" => QuestionState.Answered,
        "dismissed" => QuestionState.Dismissed,
        _ => QuestionState.Open,
    };
}

/// <summary>A question as clients see it. <c>At</c>: Unix milliseconds it was asked.</summary>
public sealed record ChatQuestionView(string Id, string Author, string Name, string Text, int Votes, string State, long At)
{
    public static ChatQuestionView Of(ChatQuestion q)
        => new(q.Id, q.Author, q.DisplayName, q.Text, q.Votes, ChatQuestion.StateName(q.State), q.CreatedAt.ToUnixTimeMilliseconds());
}
