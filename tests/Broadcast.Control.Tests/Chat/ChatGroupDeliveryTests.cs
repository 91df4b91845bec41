using Broadcast.Control.Chat;
using Broadcast.TestSupport;
using Microsoft.Extensions.Configuration;

namespace Broadcast.Control.Tests.Chat;

/// <summary>
/// A quiet chat's event goes out at once and alone; a busy one's events wait for the end of the window and go out
/// together, in order. The clock is a <see cref="ManualClock"/>: nothing can leave before the test moves it past the
/// window, so "not yet" is exact; "now" is waited for (the sender loop runs on the thread pool), bounded at 10 s. The clock
/// moves only once the loop has armed its wait (<see cref="ManualClock.PendingTimers"/>).
/// </summary>
public sealed class ChatGroupDeliveryTests
{
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task An_idle_groups_event_goes_out_alone_and_at_once()
    {
        var sent = new Sent();
        await using var delivery = new ChatGroupDelivery(sent.Add, Window, new ManualClock(DateTimeOffset.UnixEpoch));

        delivery.Deliver("ch1", ChatAudience.Viewers, "message", "hello");

        await WaitFor.ConditionAsync(() => sent.Count == 1, Bound, "the first event");
        Assert.Equal((ChatGroups.Viewers("ch1"), "message", (object)"hello"), sent[0]);
    }

    [Fact]
    public async Task Events_within_the_window_go_out_together_in_order_when_it_ends()
    {
        var sent = new Sent();
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        await using var delivery = new ChatGroupDelivery(sent.Add, Window, clock);
        delivery.Deliver("ch1", ChatAudience.Viewers, "message", "first");
        await WaitFor.ConditionAsync(() => sent.Count == 1, Bound, "the first event");

        delivery.Deliver("ch1", ChatAudience.Viewers, "message", "second");
        delivery.Deliver("ch1", ChatAudience.Viewers, "removed", "first");
        delivery.Deliver("ch1", ChatAudience.Viewers, "message", "third");
        // The group's loop (on the thread pool) arms its wait for the window's end before the clock moves: armed later,
        // it would wait a whole window from then.
        await WaitFor.ConditionAsync(() => clock.PendingTimers == 1, Bound, "the group's wait for the end of its window");
        for (var elapsed = 10; elapsed < 100; elapsed += 10)
        {
            clock.Advance(TimeSpan.FromMilliseconds(10));
            await Task.Yield();
            Assert.True(sent.Count == 1, $"a batch left {elapsed} ms into a 100 ms window");
        }

        clock.Advance(TimeSpan.FromMilliseconds(10));
        await WaitFor.ConditionAsync(() => sent.Count == 2, Bound, "the batch at the end of the window");
        var (group, method, payload) = sent[1];
        Assert.Equal((ChatGroups.Viewers("ch1"), ChatGroupDelivery.BatchMethod), (group, method));
        Assert.Equal(
            [new ChatBatchItem("message", "second"), new ChatBatchItem("removed", "first"), new ChatBatchItem("message", "third")],
            Assert.IsType<ChatBatchItem[]>(payload));

        // A window later with nothing new, the group is idle again: the next event goes out alone at once.
        clock.Advance(Window);
        delivery.Deliver("ch1", ChatAudience.Viewers, "message", "fourth");
        await WaitFor.ConditionAsync(() => sent.Count == 3, Bound, "the event after the idle window");
        Assert.Equal((ChatGroups.Viewers("ch1"), "message", (object)"fourth"), sent[2]);
    }

    [Fact]
    public async Task Groups_wait_for_their_own_windows_only()
    {
        var sent = new Sent();
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        await using var delivery = new ChatGroupDelivery(sent.Add, Window, clock);
        delivery.Deliver("ch1", ChatAudience.Viewers, "message", "busy 1");
        await WaitFor.ConditionAsync(() => sent.Count == 1, Bound, "the first event of ch1");
        delivery.Deliver("ch1", ChatAudience.Viewers, "message", "busy 2"); // waits for ch1's window

        // Another channel, and the same channel's moderators, are other groups: idle, so at once.
        delivery.Deliver("ch2", ChatAudience.Viewers, "message", "quiet");
        delivery.Deliver("ch1", ChatAudience.Moderators, "held", "review me");
        await WaitFor.ConditionAsync(() => sent.Count == 3, Bound, "the other groups' events");
        Assert.Contains((ChatGroups.Viewers("ch2"), "message", (object)"quiet"), sent.All);
        Assert.Contains((ChatGroups.Moderators("ch1"), "held", (object)"review me"), sent.All);
        Assert.DoesNotContain(sent.All, s => Equals(s.Payload, "busy 2"));
        await WaitFor.ConditionAsync(() => clock.PendingTimers == 1, Bound, "ch1's wait for the end of its window");

        clock.Advance(Window);
        await WaitFor.ConditionAsync(() => sent.Count == 4, Bound, "ch1's second event");
        Assert.Equal((ChatGroups.Viewers("ch1"), "message", (object)"busy 2"), sent[3]);
    }

    [Fact]
    public async Task A_send_that_fails_loses_its_events_only_and_the_group_goes_on()
    {
        var sent = new Sent();
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        int calls = 0;
        await using var delivery = new ChatGroupDelivery((group, method, payload) =>
        {
            if (Interlocked.Increment(ref calls) == 1) throw new InvalidOperationException("the hub refused it");
            sent.Add(group, method, payload);
        }, Window, clock);

        delivery.Deliver("ch1", ChatAudience.Viewers, "message", "lost");
        await WaitFor.ConditionAsync(() => Volatile.Read(ref calls) == 1, Bound, "the first (failing) send");
        clock.Advance(Window);
        delivery.Deliver("ch1", ChatAudience.Viewers, "message", "delivered");
        await WaitFor.ConditionAsync(() => sent.Count == 1, Bound, "the event after the failed send");
        Assert.Equal((ChatGroups.Viewers("ch1"), "message", (object)"delivered"), sent[0]);
    }

    [Fact]
    public async Task A_window_of_zero_sends_every_event_alone_on_the_callers_thread()
    {
        var sent = new Sent();
        await using var delivery = new ChatGroupDelivery(sent.Add, TimeSpan.Zero, new ManualClock(DateTimeOffset.UnixEpoch));
        for (var i = 0; i < 5; i++) delivery.Deliver("ch1", ChatAudience.Viewers, "message", i);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => (ChatGroups.Viewers("ch1"), "message", (object)i)), sent.All);
    }

    [Fact]
    public void The_window_is_a_setting_from_0_to_1000_ms()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(100), new ChatOptions().DeliveryBatchWindow);
        Assert.Equal(TimeSpan.Zero, Options("0").DeliveryBatchWindow);
        Assert.Equal(TimeSpan.FromMilliseconds(250), Options("250").DeliveryBatchWindow);
        Assert.Contains("Chat:DeliveryBatchMilliseconds", Assert.Throws<InvalidOperationException>(() => Options("1001")).Message);
        Assert.Contains("Chat:DeliveryBatchMilliseconds", Assert.Throws<InvalidOperationException>(() => Options("-5")).Message);

        static ChatOptions Options(string value) => ChatOptions.From(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Chat:DeliveryBatchMilliseconds"] = value }).Build());
    }

    private sealed class Sent
    {
        private readonly List<(string Group, string Method, object Payload)> _sent = [];

        public int Count
        {
            get { lock (_sent) return _sent.Count; }
        }

        public (string Group, string Method, object Payload)[] All
        {
            get { lock (_sent) return [.. _sent]; }
        }

        public (string Group, string Method, object Payload) this[int index]
        {
            get { lock (_sent) return _sent[index]; }
        }

        public void Add(string group, string method, object payload)
        {
            lock (_sent) _sent.Add((group, method, payload));
        }
    }
}
