using System.Net;
using System.Security.Cryptography;
using Broadcast.Control.Channels;
using Broadcast.Control.Chat;
using Broadcast.Control.Persistence;
using Broadcast.Control.Security;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Control.Tests.Chat;

/// <summary>Chat through the real service and repository on each back-end (migration 0008); delivery is recorded.</summary>
public abstract class ChatStoreContract(Func<ControlDatabase> create) : IAsyncLifetime
{
    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
    private readonly RecordingFanout _fanout = new();
    private ControlDatabase _database = null!;
    private ChannelService _channels = null!;
    private SqlChatRepository _repository = null!;
    private ChatService _chat = null!;
    private ChatQuestions _qa = null!;
    private SqlQuestionRepository _questions = null!;
    private QuestionVoteBatch _votes = null!;

    public async Task InitializeAsync()
    {
        _database = create();
        await _database.MigrateAsync();
        _channels = new ChannelService(new SqlChannelRepository(_database), new StreamKeyProtector(RandomNumberGenerator.GetBytes(32)), _clock, new Broadcast.Control.Events.LocalPublishRuleChanges(),
            NullLogger<ChannelService>.Instance);
        _repository = new SqlChatRepository(_database);
        var options = new ChatOptions();
        _questions = new SqlQuestionRepository(_database);
        _votes = new QuestionVoteBatch(_fanout);
        _chat = new ChatService(_repository, _questions, new ChatRateLimiter(options, _clock), new ChatIdentity(RandomNumberGenerator.GetBytes(32), _clock), _fanout, options, _clock,
            NullLogger<ChatService>.Instance);
        _qa = new ChatQuestions(_chat, _questions, _votes, NullLogger<ChatQuestions>.Instance);
    }

    public async Task DisposeAsync() => await _database.DisposeAsync();

    private async Task<string> ChannelAsync() => (await _channels.CreateAsync(new ChannelSpec($"chat {Guid.NewGuid():N}"))).Channel.Id;

    [Fact]
    public async Task Settings_round_trip_and_default_when_unset()
    {
        var channel = await ChannelAsync();
        Assert.Null(await _repository.GetSettingsAsync(channel));
        Assert.Equal(ChatRoomSettings.Default, await _chat.GetSettingsAsync(channel, default));
        var saved = new ChatRoomSettings(ChatMode.Hold, 15, ChatLinkPolicy.Block, ["spam", "buy followers"]);
        await _repository.SaveSettingsAsync(channel, saved, _clock.GetUtcNow());
        var read = await _repository.GetSettingsAsync(channel);
        Assert.Equal(saved.Mode, read!.Mode);
        Assert.Equal(15, read.SlowModeSeconds);
        Assert.Equal(ChatLinkPolicy.Block, read.Links);
        Assert.Equal(["spam", "buy followers"], read.BlockedWords);
        await _repository.SaveSettingsAsync(channel, ChatRoomSettings.Default, _clock.GetUtcNow());
        Assert.Empty((await _repository.GetSettingsAsync(channel))!.BlockedWords);
    }

    [Fact]
    public async Task Messages_posted_in_one_millisecond_come_back_from_the_history_in_the_order_they_were_posted()
    {
        var channel = await ChannelAsync();
        var viewer = _chat.Identify(null, IPAddress.Loopback);
        var ids = new List<string>();
        for (var i = 0; i < 20; i++) ids.Add((await _chat.PostAsync(channel, viewer, "Ada", $"message {i}", moderator: true, default)).Id);

        Assert.Equal(ids, (await _repository.ListRecentAsync(channel, ChatMessageState.Visible, 20)).Select(m => m.Id));
        var replay = await _chat.ReplayAsync(channel, _clock.GetUtcNow(), _clock.GetUtcNow().AddSeconds(1), default);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"message {i}"), replay.Select(m => m.Text));
    }

    [Fact]
    public async Task Messages_keep_their_order_and_the_replay_window_selects_what_was_shown_in_it()
    {
        var channel = await ChannelAsync();
        var viewer = _chat.Identify(null, IPAddress.Loopback);
        var start = _clock.GetUtcNow();
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await _chat.PostAsync(channel, viewer, "Ada", $"message {i}", moderator: true, default)).Id);
            _clock.Advance(TimeSpan.FromMilliseconds(1500));
        }

        var recent = await _repository.ListRecentAsync(channel, ChatMessageState.Visible, 3);
        Assert.Equal(ids[2..], recent.Select(m => m.Id));
        Assert.Equal("message 4", recent[^1].Text);
        Assert.Equal(start.AddMilliseconds(3000), recent[0].ShownAt);

        // [start + 1.5 s, start + 4.5 s): messages 1 and 2 (3 was shown at 4.5 s), in order, with the times they were shown.
        var replay = await _chat.ReplayAsync(channel, start.AddMilliseconds(1500), start.AddMilliseconds(4500), default);
        Assert.Equal(["message 1", "message 2"], replay.Select(m => m.Text));
        replay = await _chat.ReplayAsync(channel, start.AddMilliseconds(1500), start.AddMilliseconds(4501), default);
        Assert.Equal(["message 1", "message 2", "message 3"], replay.Select(m => m.Text));
        Assert.Equal(start.AddMilliseconds(1500).ToUnixTimeMilliseconds(), replay[0].At);

        // A deleted message is gone from the replay; another channel's are never in it.
        Assert.True(await _chat.DeleteAsync(channel, ids[2], "mod", default));
        Assert.False(await _chat.DeleteAsync(channel, ids[2], "mod", default));
        Assert.Equal(["message 0", "message 1", "message 3"], (await _chat.ReplayAsync(channel, start, start.AddSeconds(5), default)).Select(m => m.Text));
        Assert.Empty(await _chat.ReplayAsync(await ChannelAsync(), start, start.AddSeconds(10), default));
    }

    [Fact]
    public async Task Hold_mode_keeps_a_message_from_viewers_until_approved()
    {
        var channel = await ChannelAsync();
        await _chat.SaveSettingsAsync(channel, "hold", null, null, null, default);
        var viewer = _chat.Identify(null, IPAddress.Parse("198.51.100.1"));
        _fanout.Clear();
        var held = await _chat.PostAsync(channel, viewer, "Bob", "please approve", moderator: false, default);
        Assert.Equal(ChatMessageState.Held, held.State);
        Assert.Null(held.ShownAt);
        Assert.Equal([(ChatAudience.Moderators, "held")], _fanout.Events.Select(e => (e.Audience, e.Method)));
        Assert.Empty(await _repository.ListRecentAsync(channel, ChatMessageState.Visible, 10));

        _clock.Advance(TimeSpan.FromSeconds(3));
        _fanout.Clear();
        Assert.True(await _chat.ApproveAsync(channel, held.Id, "mod", default));
        Assert.False(await _chat.ApproveAsync(channel, held.Id, "mod", default));
        Assert.Contains((ChatAudience.Viewers, "message"), _fanout.Events.Select(e => (e.Audience, e.Method)));
        var shown = Assert.Single(await _repository.ListRecentAsync(channel, ChatMessageState.Visible, 10));
        // Replay shows it when it was approved, which is when live viewers saw it.
        Assert.Equal(_clock.GetUtcNow(), shown.ShownAt);
        Assert.Equal(held.SentAt, shown.SentAt);
    }

    [Fact]
    public async Task Bans_by_address_catch_new_viewer_ids_and_time_outs_expire()
    {
        var channel = await ChannelAsync();
        var address = IPAddress.Parse("198.51.100.9");
        var troll = _chat.Identify(null, address);
        var m = await _chat.PostAsync(channel, troll, "Troll", "first", moderator: false, default);
        var ban = await _chat.BanAsync(channel, m.Id, "abuse", null, byAddress: true, "mod", default);
        Assert.NotNull(ban);
        var e = await Assert.ThrowsAsync<ChatRefusedException>(() => _chat.PostAsync(channel, troll, "Troll", "again", false, default));
        Assert.Equal("You are banned from this chat.", e.Message);
        // A fresh viewer id from the same address is still banned; another address is not.
        await Assert.ThrowsAsync<ChatRefusedException>(() => _chat.PostAsync(channel, _chat.Identify(null, address), "Troll2", "hi", false, default));
        await _chat.PostAsync(channel, _chat.Identify(null, IPAddress.Parse("198.51.100.10")), "Nice", "hi", false, default);
        // The banned message is gone, and the ban is listed with its reason.
        Assert.Equal(ChatMessageState.Deleted, (await _repository.GetMessageAsync(channel, m.Id))!.State);
        var listed = Assert.Single(await _chat.ListBansAsync(channel, default));
        Assert.Equal(("abuse", "Troll", true, (long?)null), (listed.Reason, listed.Name, listed.ByAddress, listed.ExpiresAt));

        // A time-out by viewer id only: a viewer of the same address who was here before may talk, and it ends.
        var veteran = _chat.Identify(null, IPAddress.Parse("203.0.113.5"));
        _clock.Advance(TimeSpan.FromMinutes(11));
        var loud = _chat.Identify(null, IPAddress.Parse("203.0.113.5"));
        var justBefore = _chat.Identify(null, IPAddress.Parse("203.0.113.5"));
        _clock.Advance(TimeSpan.FromSeconds(1));
        var loudMessage = await _chat.PostAsync(channel, loud, "Loud", "CAPS", false, default);
        await Assert.ThrowsAsync<ValidationFailedException>(() => _chat.BanAsync(channel, loudMessage.Id, "x", 0, false, "mod", default));
        await Assert.ThrowsAsync<ValidationFailedException>(() => _chat.BanAsync(channel, loudMessage.Id, new string('r', 201), 5, false, "mod", default));
        await _chat.BanAsync(channel, loudMessage.Id, "shouting", 10, byAddress: false, "mod", default);
        var timedOut = await Assert.ThrowsAsync<ChatRefusedException>(() => _chat.PostAsync(channel, loud, "Loud", "again", false, default));
        Assert.StartsWith("You are timed out of this chat until", timedOut.Message, StringComparison.Ordinal);
        await _chat.PostAsync(channel, veteran, "Other", "hi", false, default);
        // A private window mints a fresh viewer id: from the sanctioned viewer's address it reads but may not post for
        // Chat:FreshViewerWaitMinutes (a fresh id elsewhere may, and so may one of that address minted before the time-out,
        // a moment ago or not).
        var privateWindow = _chat.Identify(null, IPAddress.Parse("203.0.113.5"));
        var held = await Assert.ThrowsAsync<ChatRefusedException>(() => _chat.PostAsync(channel, privateWindow, "Loud again", "CAPS", false, default));
        Assert.StartsWith("New viewers from your network may post in this chat from", held.Message, StringComparison.Ordinal);
        await _chat.PostAsync(channel, _chat.Identify(null, IPAddress.Parse("203.0.113.6")), "Newcomer", "hi", false, default);
        await _chat.PostAsync(channel, justBefore, "Just before", "hi", false, default);
        Assert.Equal(2, (await _chat.ListBansAsync(channel, default)).Count);
        _clock.Advance(TimeSpan.FromMinutes(11));
        await _chat.PostAsync(channel, loud, "Loud", "calm now", false, default);
        await _chat.PostAsync(channel, privateWindow, "Loud again", "calm too", false, default);
        Assert.Single(await _chat.ListBansAsync(channel, default));

        // Lifting the ban lets the troll back.
        Assert.True(await _chat.UnbanAsync(channel, ban!.Id, "mod", default));
        Assert.False(await _chat.UnbanAsync(channel, ban.Id, "mod", default));
        await _chat.PostAsync(channel, troll, "Troll", "sorry", false, default);
    }

    [Fact]
    public async Task A_banned_viewer_who_keeps_sending_is_slowed_down_like_any_other()
    {
        // Bans were checked before the limits, so a banned client was refused as fast as it could send, each refusal
        // a database-free but full pass through the checks. The limits come first now: after the viewer's burst, the
        // answer is the rate limit's, and it says when to try again.
        var channel = await ChannelAsync();
        var troll = _chat.Identify(null, IPAddress.Parse("198.51.100.20"));
        var m = await _chat.PostAsync(channel, troll, "Troll", "first", moderator: false, default);
        await _chat.BanAsync(channel, m.Id, "abuse", null, byAddress: false, "mod", default);
        var options = new ChatOptions();
        for (int i = 1; i < options.ViewerBurst; i++)
        {
            var banned = await Assert.ThrowsAsync<ChatRefusedException>(() => _chat.PostAsync(channel, troll, "Troll", "again", false, default));
            Assert.Equal("You are banned from this chat.", banned.Message);
        }

        var slowed = await Assert.ThrowsAsync<ChatRefusedException>(() => _chat.PostAsync(channel, troll, "Troll", "again", false, default));
        Assert.StartsWith("You are sending messages too fast", slowed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refused_messages_store_and_send_nothing()
    {
        var channel = await ChannelAsync();
        await _chat.SaveSettingsAsync(channel, null, 30, "block", ["darn"], default);
        var viewer = _chat.Identify(null, IPAddress.Parse("192.0.2.1"));
        _fanout.Clear();
        Assert.Equal("The message contains a word this chat does not allow.",
            (await Assert.ThrowsAsync<ChatRefusedException>(() => _chat.PostAsync(channel, viewer, "V", "darn it", false, default))).Message);
        Assert.Equal("Links are not allowed in this chat.",
            (await Assert.ThrowsAsync<ChatRefusedException>(() => _chat.PostAsync(channel, viewer, "V", "see www.example.com", false, default))).Message);
        await Assert.ThrowsAsync<ChatRefusedException>(() => _chat.PostAsync(channel, viewer, "", "no name", false, default));
        await Assert.ThrowsAsync<ChatRefusedException>(() => _chat.PostAsync(channel, viewer, "V", new string('x', 501), false, default));
        Assert.Empty(_fanout.Events);
        Assert.Empty(await _repository.ListRecentAsync(channel, ChatMessageState.Visible, 10));

        // Slow mode (30 s): one message, then a wait.
        await _chat.PostAsync(channel, viewer, "V", "ok", false, default);
        var slow = await Assert.ThrowsAsync<ChatRefusedException>(() => _chat.PostAsync(channel, viewer, "V", "again", false, default));
        Assert.Equal("Slow mode is on: wait 30 s before your next message.", slow.Message);
        // Moderators are not held to the filter or slow mode.
        await _chat.PostAsync(channel, viewer, "Mod", "darn, www.example.com", moderator: true, default);

        await _chat.SaveSettingsAsync(channel, "off", 0, null, null, default);
        Assert.Equal("The chat is off.", (await Assert.ThrowsAsync<ChatRefusedException>(() => _chat.PostAsync(channel, _chat.Identify(null, null), "V", "hello", false, default))).Message);
    }

    [Fact]
    public async Task Questions_take_one_vote_per_viewer_sort_by_votes_and_one_is_answered_at_a_time()
    {
        var channel = await ChannelAsync();
        var a = _chat.Identify(null, IPAddress.Parse("192.0.2.10"));
        var b = _chat.Identify(null, IPAddress.Parse("192.0.2.11"));
        var c = _chat.Identify(null, IPAddress.Parse("192.0.2.12"));
        var first = await _qa.AskAsync(channel, a, "Ann", "When is the next match?", false, default);
        _clock.Advance(TimeSpan.FromSeconds(1));
        var second = await _qa.AskAsync(channel, b, "Ben", "Who is refereeing?", false, default);
        Assert.Equal(QuestionState.Open, first.State);
        await Assert.ThrowsAsync<ChatRefusedException>(() => _qa.AskAsync(channel, a, "Ann", "", false, default));

        _fanout.Clear();
        Assert.True(await _qa.UpvoteAsync(channel, second.Id, a, default));
        Assert.False(await _qa.UpvoteAsync(channel, second.Id, a, default)); // once per viewer
        Assert.True(await _qa.UpvoteAsync(channel, second.Id, c, default));
        Assert.True(await _qa.UpvoteAsync(channel, first.Id, c, default));
        Assert.False(await _qa.UpvoteAsync(channel, "no-such-question", c, default));
        Assert.Empty(_fanout.Events); // votes go out batched
        _votes.Flush();
        var batch = (QuestionVotes)Assert.Single(_fanout.Events).Payload;
        Assert.Equal(2, batch.Votes[batch.Ids.ToList().IndexOf(second.Id)]);

        var listed = await _qa.ListAsync(channel, moderator: false, default);
        Assert.Equal([second.Id, first.Id], listed.Select(q => q.Id)); // more votes first
        Assert.Equal([2, 1], listed.Select(q => q.Votes));

        // Answering one puts it first; answering the next closes the first as answered.
        Assert.True(await _qa.ModerateAsync(channel, first.Id, QuestionActions.Parse("answering"), "mod", default));
        Assert.Equal([first.Id, second.Id], (await _qa.ListAsync(channel, false, default)).Select(q => q.Id));
        Assert.True(await _qa.ModerateAsync(channel, second.Id, QuestionActions.Parse("answering"), "mod", default));
        var states = (await _qa.ListAsync(channel, false, default)).ToDictionary(q => q.Id, q => q.State);
        Assert.Equal("answering", states[second.Id]);
        Assert.Equal("answered", states[first.Id]);
        Assert.False(await _qa.UpvoteAsync(channel, first.Id, b, default)); // answered: no more votes
        Assert.True(await _qa.ModerateAsync(channel, first.Id, QuestionActions.Parse("dismiss"), "mod", default));
        Assert.Single(await _qa.ListAsync(channel, false, default));
        Assert.Equal("action", Assert.Single(Assert.Throws<ValidationFailedException>(() => QuestionActions.Parse("explode")).Errors).Key);

        // Hold mode holds questions too: moderators see them, viewers only after approval.
        await _chat.SaveSettingsAsync(channel, "hold", null, null, null, default);
        var held = await _qa.AskAsync(channel, c, "Cat", "Held question?", false, default);
        Assert.Equal(QuestionState.Held, held.State);
        Assert.DoesNotContain(held.Id, (await _qa.ListAsync(channel, false, default)).Select(q => q.Id));
        Assert.Contains(held.Id, (await _qa.ListAsync(channel, true, default)).Select(q => q.Id));
        Assert.False(await _qa.UpvoteAsync(channel, held.Id, a, default));
        Assert.True(await _qa.ModerateAsync(channel, held.Id, QuestionActions.Parse("approve"), "mod", default));
        Assert.Contains(held.Id, (await _qa.ListAsync(channel, false, default)).Select(q => q.Id));
    }

    [Fact]
    public async Task Retention_deletes_old_chat_and_expired_time_outs_and_keeps_the_rest()
    {
        var channel = await ChannelAsync();
        var viewer = _chat.Identify(null, IPAddress.Parse("192.0.2.50"));
        var old = await _chat.PostAsync(channel, viewer, "Old", "from last month", true, default);
        var oldQuestion = await _qa.AskAsync(channel, viewer, "Old", "an old question", true, default);
        var troll = _chat.Identify(null, IPAddress.Parse("192.0.2.51"));
        var trolled = await _chat.PostAsync(channel, troll, "T", "x", false, default);
        await _chat.BanAsync(channel, trolled.Id, "short", 60, false, "mod", default);
        var banned = await _chat.PostAsync(channel, _chat.Identify(null, IPAddress.Parse("192.0.2.52")), "B", "y", false, default);
        await _chat.BanAsync(channel, banned.Id, "forever", null, false, "mod", default);
        _clock.Advance(TimeSpan.FromDays(10));
        var recent = await _chat.PostAsync(channel, viewer, "New", "today", true, default);

        var off = new ChatRetention(_repository, new ChatOptions(), _clock, NullLogger<ChatRetention>.Instance);
        Assert.Equal(0, await off.RunOnceAsync(default));
        Assert.NotNull(await _repository.GetMessageAsync(channel, old.Id));

        var week = new ChatRetention(_repository, new ChatOptions { Retention = TimeSpan.FromDays(7) }, _clock, NullLogger<ChatRetention>.Instance);
        Assert.True(await week.RunOnceAsync(default) >= 5); // 3 messages (one deleted by its ban), a question, an expired time-out
        Assert.Null(await _repository.GetMessageAsync(channel, old.Id));
        Assert.Null(await _questions.GetAsync(channel, oldQuestion.Id));
        Assert.NotNull(await _repository.GetMessageAsync(channel, recent.Id));
        var bans = await _repository.ListBansAsync(channel, _clock.GetUtcNow().AddYears(-1));
        Assert.Equal(["forever"], bans.Select(b => b.Reason));
        Assert.Equal(0, await week.RunOnceAsync(default));
    }

    [Fact]
    public async Task Deleting_the_channel_deletes_its_chat()
    {
        var channel = await ChannelAsync();
        var viewer = _chat.Identify(null, IPAddress.Loopback);
        var m = await _chat.PostAsync(channel, viewer, "A", "hello", false, default);
        await _chat.SaveSettingsAsync(channel, "hold", null, null, null, default);
        await _chat.BanAsync(channel, m.Id, "r", null, true, "mod", default);
        var q = await _qa.AskAsync(channel, viewer, "A", "question", true, default);
        Assert.True(await _qa.UpvoteAsync(channel, q.Id, _chat.Identify(null, IPAddress.Parse("192.0.2.77")), default));
        Assert.True(await new SqlChannelRepository(_database).DeleteAsync(channel));
        Assert.Null(await _questions.GetAsync(channel, q.Id));
        Assert.Null(await _repository.GetMessageAsync(channel, m.Id));
        Assert.Null(await _repository.GetSettingsAsync(channel));
        Assert.Empty(await _repository.ListBansAsync(channel, _clock.GetUtcNow()));
    }

    private sealed class RecordingFanout : IChatFanout
    {
        private readonly List<(string ChannelId, ChatAudience Audience, string Method, object Payload)> _events = [];

        public IReadOnlyList<(string ChannelId, ChatAudience Audience, string Method, object Payload)> Events
        {
            get
            {
                lock (_events) return _events.ToList();
            }
        }

        public void Clear()
        {
            lock (_events) _events.Clear();
        }

        public void Publish(string channelId, ChatAudience audience, string method, object payload)
        {
            lock (_events) _events.Add((channelId, audience, method, payload));
        }
    }
}

public sealed class SqliteChatStoreTests : ChatStoreContract, IDisposable
{
    private static readonly TempDirectory Directory = new();
    private static int _count;

    public SqliteChatStoreTests()
        : base(() => new SqliteControlDatabase($"Data Source={Directory.File($"chat{Interlocked.Increment(ref _count)}/broadcast.db")}"))
    {
    }

    public void Dispose() => Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
}

[Trait("Kind", "Component")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresChatStoreTests(PostgresTestCluster cluster)
    : ChatStoreContract(() => new PostgresControlDatabase(cluster.CreateDatabase("chat")));
