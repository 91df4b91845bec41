using Broadcast.Control.Chat;

namespace Broadcast.Control.Tests.Chat;

public sealed class ReactionAggregatorTests
{
    [Fact]
    public async Task A_burst_of_thousands_goes_out_as_one_message_per_channel_per_flush()
    {
        var fanout = new CountingFanout();
        var options = new ChatOptions();
        var aggregator = new ReactionAggregator(fanout, new ChatRateLimiter(options, TimeProvider.System), new QuestionVoteBatch(fanout), options, TimeProvider.System);
        // 8 threads × 1,000 reactions on one channel, 10 on another.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 1000; i++) Assert.True(aggregator.Add("busy", ReactionAggregator.Emoji[(t + i) % 3]));
        })));
        for (var i = 0; i < 10; i++) aggregator.Add("quiet", "🎉");
        Assert.False(aggregator.Add("busy", "<img src=x>"));
        Assert.False(aggregator.Add("busy", null));

        aggregator.Flush();
        Assert.Equal(2, fanout.Events.Count);
        var busy = (ReactionCounts)fanout.Events.Single(e => e.ChannelId == "busy").Payload;
        Assert.Equal(8000, busy.Counts.Sum());
        Assert.Equal(0, busy.Counts[3] + busy.Counts[4] + busy.Counts[5]);
        var quiet = (ReactionCounts)fanout.Events.Single(e => e.ChannelId == "quiet").Payload;
        Assert.Equal(10, quiet.Counts[5]);
        Assert.All(fanout.Events, e => Assert.Equal(("reactions", ChatAudience.Viewers), (e.Method, e.Audience)));

        // Nothing new: nothing sent.
        aggregator.Flush();
        aggregator.Flush();
        Assert.Equal(2, fanout.Events.Count);
        aggregator.Add("busy", "👍");
        aggregator.Flush();
        Assert.Equal(1, ((ReactionCounts)fanout.Events[^1].Payload).Counts[0]);
    }

    private sealed class CountingFanout : IChatFanout
    {
        public List<(string ChannelId, ChatAudience Audience, string Method, object Payload)> Events { get; } = [];

        public void Publish(string channelId, ChatAudience audience, string method, object payload)
        {
            lock (Events) Events.Add((channelId, audience, method, payload));
        }
    }
}
