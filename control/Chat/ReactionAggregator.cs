using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;

namespace Broadcast.Control.Chat;

/// <summary>
/// Reactions summed per channel and sent out every <see cref="ChatOptions.ReactionFlushMilliseconds"/> as one
/// "reactions" message with a count per emoji: a burst of thousands costs each viewer a few messages a second.
/// Adding is a lock-free increment. The same tick sends the questions' new upvote totals (<see cref="QuestionVoteBatch"/>)
/// and, once a minute, sweeps the rate limiter's idle buckets.
/// </summary>
public sealed class ReactionAggregator(IChatFanout fanout, ChatRateLimiter limiter, QuestionVoteBatch votes, ChatOptions options, TimeProvider time)
    : BackgroundService
{
    /// <summary>The reactions viewers may send, in the order the page shows them.</summary>
    public static readonly IReadOnlyList<string> Emoji = ["👍", "❤️", "😂", "😮", "👏", "🎉"];

    private readonly ConcurrentDictionary<string, int[]> _counts = new(StringComparer.Ordinal);

    /// <summary>Counts one reaction; false for an emoji that is not offered.</summary>
    public bool Add(string channelId, string? emoji)
    {
        var index = emoji is null ? -1 : IndexOf(emoji);
        if (index < 0) return false;
        var counts = _counts.GetOrAdd(channelId, static _ => new int[Emoji.Count]);
        Interlocked.Increment(ref counts[index]);
        return true;
    }

    /// <summary>Sends what was counted since the last flush (one message per channel with reactions).</summary>
    public void Flush()
    {
        foreach (var (channelId, counts) in _counts)
        {
            int[]? taken = null;
            for (var i = 0; i < counts.Length; i++)
            {
                var n = Interlocked.Exchange(ref counts[i], 0);
                if (n == 0) continue;
                taken ??= new int[counts.Length];
                taken[i] = n;
            }

            if (taken is null)
            {
                // Quiet channel: forget it (a reaction racing this removal starts a fresh array and is counted there).
                _counts.TryRemove(new KeyValuePair<string, int[]>(channelId, counts));
                continue;
            }

            fanout.Publish(channelId, ChatAudience.Viewers, "reactions", new ReactionCounts(Emoji, taken));
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.ReactionFlushMilliseconds), time);
        var lastSweep = time.GetTimestamp();
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                Flush();
                votes.Flush();
                if (time.GetElapsedTime(lastSweep) > TimeSpan.FromMinutes(1))
                {
                    limiter.Sweep();
                    lastSweep = time.GetTimestamp();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static int IndexOf(string emoji)
    {
        for (var i = 0; i < Emoji.Count; i++)
        {
            if (string.Equals(Emoji[i], emoji, StringComparison.Ordinal)) return i;
        }

        return -1;
    }
}

/// <summary>One flush of a channel's reactions: <c>Counts[i]</c> of <c>Emoji[i]</c>.</summary>
public sealed record ReactionCounts(IReadOnlyList<string> Emoji, int[] Counts);
