using System.Collections.Concurrent;

namespace Broadcast.Control.Chat;

/// <summary>
/// Upvote totals waiting to go out: the newest total per question, per channel, sent as one "questionVotes" message per
/// channel at each flush (with the reactions, <see cref="ReactionAggregator"/>), so a burst of votes costs viewers a
/// few messages a second.
/// </summary>
public sealed class QuestionVoteBatch(IChatFanout fanout)
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, int>> _pending = new(StringComparer.Ordinal);

    public void Add(string channelId, string questionId, int votes)
    {
        var channel = _pending.GetOrAdd(channelId, static _ => new ConcurrentDictionary<string, int>(StringComparer.Ordinal));
        // Totals only grow: keep the largest seen, whatever order concurrent votes finish in.
        channel.AddOrUpdate(questionId, votes, (_, old) => Math.Max(old, votes));
    }

    public void Flush()
    {
        foreach (var (channelId, channel) in _pending)
        {
            if (channel.IsEmpty)
            {
                _pending.TryRemove(new KeyValuePair<string, ConcurrentDictionary<string, int>>(channelId, channel));
                continue;
            }

            var ids = new List<string>();
            var votes = new List<int>();
            foreach (var id in channel.Keys)
            {
                if (channel.TryRemove(id, out var v))
                {
                    ids.Add(id);
                    votes.Add(v);
                }
            }

            if (ids.Count > 0) fanout.Publish(channelId, ChatAudience.Viewers, "questionVotes", new QuestionVotes(ids, votes));
        }
    }
}

/// <summary>New upvote totals: <c>Votes[i]</c> for question <c>Ids[i]</c>.</summary>
public sealed record QuestionVotes(IReadOnlyList<string> Ids, IReadOnlyList<int> Votes);
