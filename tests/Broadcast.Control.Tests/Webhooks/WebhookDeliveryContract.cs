using System.Collections.Concurrent;
using System.Security.Cryptography;
using Broadcast.Control.Channels;
using Broadcast.Control.Persistence;
using Broadcast.Control.Security;
using Broadcast.Control.Webhooks;
using Broadcast.Network.Outbound;
using Broadcast.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using StandardWebhooks;
using PostgresTestCluster = Broadcast.TestSupport.PostgresTestCluster;

namespace Broadcast.Control.Tests.Webhooks;

/// <summary>
/// The outbox and its delivery (migration 0020) on SQLite and PostgreSQL, against a real receiver on loopback reached as
/// <c>receiver.test</c> (allowed by the outbound policy, as an operator allows a platform's address): events written with
/// the change that caused them, order per channel, leases, retries, a receiver down and back across a restart, the
/// endpoint disabled after a day of failures, the pending cap, pruning, and two workers on one database.
/// </summary>
public abstract class WebhookDeliveryContract : ChannelTableContract
{
    private readonly byte[] _serverSecret = RandomNumberGenerator.GetBytes(32);

    protected ManualClock Clock { get; } = new(DateTimeOffset.UtcNow);

    private WebhookOutbox _outbox = null!;
    private SqlWebhookDeliveries _deliveries = null!;
    private WebhookEndpointService _endpoints = null!;
    private LoopbackHttpEndpoint _receiver = null!;
    private readonly ConcurrentQueue<(string Id, string Body, bool Verified)> _accepted = new();
    private volatile int _answer = 204;
    private string _secret = "";

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _receiver = await LoopbackHttpEndpoint.StartAsync(async (request, response, _) =>
        {
            response.StatusCode = _answer;
            if (_answer is >= 200 and < 300) _accepted.Enqueue((request.Headers["webhook-id"], request.BodyText, Verifies(request)));
            else await response.WriteAsync("receiver down for maintenance " + new string('x', 3000));
        });
        (_outbox, _deliveries, _endpoints) = Parts(Database);
    }

    public override async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        await base.DisposeAsync();
    }

    private (WebhookOutbox, SqlWebhookDeliveries, WebhookEndpointService) Parts(ControlDatabase database) => (
        new WebhookOutbox(database, Clock, NullLogger<WebhookOutbox>.Instance),
        new SqlWebhookDeliveries(database),
        new WebhookEndpointService(new SqlWebhookEndpointRepository(database), new StreamKeyProtector(_serverSecret), Guard(), Clock,
            NullLogger<WebhookEndpointService>.Instance));

    private static OutboundGuard Guard() => new(new OutboundUrlPolicy(OutboundAllowList.Parse(["receiver.test"], [])),
        new FakeHostResolver().Map("receiver.test", "127.0.0.1"));

    private WebhookDispatcher Dispatcher(SqlWebhookDeliveries? deliveries = null, WebhookEndpointService? endpoints = null, WebhookBackoff? backoff = null)
        => new(deliveries ?? _deliveries, endpoints ?? _endpoints, Guard(), Clock, backoff ?? WebhookBackoff.Default, NullLogger<WebhookDispatcher>.Instance);

    private async Task<string> EndpointAsync(IReadOnlyList<string>? types = null)
    {
        var url = new UriBuilder(_receiver.Url("hooks")) { Host = "receiver.test" }.Uri.ToString();
        var issued = await _endpoints.CreateAsync(new WebhookEndpointSpec(url, "platform", types, true));
        _secret = issued.Secret;
        return issued.Endpoint.Id;
    }

    private bool Verifies(ReceivedRequest request)
    {
        try
        {
            new StandardWebhook(_secret).Verify(request.BodyText,
                WebhookSignatureTests.Headers(request.Headers["webhook-id"], long.Parse(request.Headers["webhook-timestamp"], System.Globalization.CultureInfo.InvariantCulture),
                    request.Headers["webhook-signature"]));
            return true;
        }
        catch (StandardWebhooks.Diagnostics.WebhookVerificationException)
        {
            return false;
        }
    }

    private async Task<WebhookEvent> AppendAsync(string channelId, string type = WebhookEventTypes.BroadcastStarted)
    {
        var happened = WebhookEvent.Create(type, channelId, Clock.GetUtcNow(), json => json.WriteString("channelId", channelId));
        await _outbox.AppendAsync(happened);
        Clock.Advance(TimeSpan.FromMilliseconds(5));
        return happened;
    }

    /// <summary>Runs passes, moving the clock to the next retry whenever nothing is due, until nothing is pending (bounded).</summary>
    private async Task DrainAsync(WebhookDispatcher dispatcher)
    {
        for (int pass = 0; pass < 200 && await PendingAsync() > 0; pass++)
        {
            if (await dispatcher.RunOnceAsync(CancellationToken.None) > 0) continue;
            var next = (await Sql.QueryAsync(Database, "SELECT next_attempt_at FROM webhook_deliveries WHERE state = 'pending' ORDER BY next_attempt_at",
                _ => { }, r => Sql.Time(r, 0), CancellationToken.None))[0];
            Clock.Advance(next > Clock.GetUtcNow() ? next - Clock.GetUtcNow() + TimeSpan.FromMilliseconds(1) : TimeSpan.FromSeconds(1));
        }

        Assert.Equal(0, await PendingAsync());
    }

    private async Task<long> PendingAsync() => (await Sql.QueryAsync(Database, "SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'",
        _ => { }, r => r.GetInt64(0), CancellationToken.None))[0];

    [Fact]
    public async Task A_channel_change_writes_its_event_in_its_own_transaction_and_a_failed_change_writes_none()
    {
        await EndpointAsync();
        var repository = new SqlChannelRepository(Database, _outbox);
        var channels = new ChannelService(repository, new StreamKeyProtector(_serverSecret), Clock, new Broadcast.Control.Events.LocalPublishRuleChanges(),
            NullLogger<ChannelService>.Instance);

        var created = await channels.CreateAsync(new ChannelSpec("Studio"));
        await channels.UpdateAsync(created.Channel.Id, "Studio A", null, null);
        Assert.True(await channels.DeleteAsync(created.Channel.Id));

        var types = await Sql.QueryAsync(Database, "SELECT e.type FROM webhook_events e JOIN webhook_deliveries d ON d.event_id = e.id ORDER BY e.id",
            _ => { }, r => r.GetString(0), CancellationToken.None);
        Assert.Equal(["channel.created", "channel.updated", "channel.deleted"], types);

        // An insert that fails (the slug is taken) keeps no event either.
        var record = new ChannelRecord("dup", "Dup", "studio-b", RandomNumberGenerator.GetBytes(32), RandomNumberGenerator.GetBytes(60), false, false, false,
            Clock.GetUtcNow());
        Assert.True(await repository.TryInsertAsync(record));
        var lost = WebhookEvent.Create(WebhookEventTypes.ChannelCreated, "dup2", Clock.GetUtcNow(), _ => { });
        Assert.False(await repository.TryInsertAsync(record with { Id = "dup2" }, lost, CancellationToken.None));
        Assert.Empty(await Sql.QueryAsync(Database, "SELECT id FROM webhook_events WHERE id = @id", c => Sql.Add(c, "id", lost.Id), r => r.GetString(0),
            CancellationToken.None));
    }

    [Fact]
    public async Task A_later_event_of_a_channel_waits_while_an_earlier_one_is_pending_and_other_channels_go_on()
    {
        await EndpointAsync();
        var a1 = await AppendAsync("chan-a");
        var a2 = await AppendAsync("chan-a", WebhookEventTypes.BroadcastEnded);
        var b1 = await AppendAsync("chan-b");
        var a3 = await AppendAsync("chan-a", WebhookEventTypes.ChannelUpdated);
        using var dispatcher = Dispatcher();

        _answer = 503;
        Assert.Equal(2, await dispatcher.RunOnceAsync(CancellationToken.None)); // the heads of each channel's queue: a1 and b1, both refused
        _answer = 204;
        Assert.Equal(0, await dispatcher.RunOnceAsync(CancellationToken.None)); // both wait their 5 s, and a2, a3 wait behind a1
        Assert.Empty(_accepted);
        Clock.Advance(TimeSpan.FromSeconds(6));
        await DrainAsync(dispatcher);

        Assert.Equal([a1.Id, a2.Id, a3.Id], _accepted.Select(r => r.Id).Where(id => id != b1.Id));
        Assert.Contains(_accepted, r => r.Id == b1.Id);
        Assert.All(_accepted, r => Assert.True(r.Verified));
    }

    [Fact]
    public async Task A_claim_whose_lease_ran_out_is_claimed_again_and_the_old_claim_can_no_longer_complete_it()
    {
        await EndpointAsync();
        await AppendAsync("chan-a");
        var first = Assert.Single(await _deliveries.ClaimAsync(Clock.GetUtcNow(), WebhookDispatcher.Lease, 10));
        // The node that claimed it dies here. Within the lease, nobody else takes it.
        Clock.Advance(WebhookDispatcher.Lease - TimeSpan.FromSeconds(1));
        Assert.Empty(await _deliveries.ClaimAsync(Clock.GetUtcNow(), WebhookDispatcher.Lease, 10));
        Clock.Advance(TimeSpan.FromSeconds(2));
        using var survivor = Dispatcher();
        Assert.Equal(1, await survivor.RunOnceAsync(CancellationToken.None));
        Assert.Equal(first.EventId, Assert.Single(_accepted).Id);

        // The dead node's late answer changes nothing: the delivery is delivered, once.
        await _deliveries.CompleteAsync(first, new DeliveryAttempt(Clock.GetUtcNow(), 500, null, 3, null), TimeSpan.FromSeconds(5), TimeSpan.FromHours(24));
        Assert.Equal(0, await PendingAsync());
        Clock.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(0, await survivor.RunOnceAsync(CancellationToken.None));
        Assert.Single(_accepted);
    }

    [Fact]
    public async Task With_the_receiver_down_and_the_node_restarted_every_event_arrives_once_it_is_back()
    {
        string endpoint = await EndpointAsync();
        // The receiver checks signatures against its own clock (5 minutes' tolerance): this test's clock starts early, so
        // the retries that succeed, 7 minutes on, are signed at about the real time.
        Clock.SetUtcNow(DateTimeOffset.UtcNow - TimeSpan.FromMinutes(5));
        _answer = 503;
        var sent = new List<WebhookEvent>();
        for (int i = 0; i < 3; i++) sent.Add(await AppendAsync("chan-a", i == 0 ? WebhookEventTypes.BroadcastStarted : WebhookEventTypes.BroadcastEnded));
        sent.Add(await AppendAsync("chan-b"));
        using (var before = Dispatcher())
        {
            Assert.Equal(2, await before.RunOnceAsync(CancellationToken.None));
            Clock.Advance(TimeSpan.FromSeconds(6));
            Assert.Equal(2, await before.RunOnceAsync(CancellationToken.None));
        }

        // The node restarts: new parts over the same database. The receiver stays down a while longer, then comes back.
        var restarted = Create();
        var (_, deliveries, endpoints) = Parts(restarted);
        using var after = Dispatcher(deliveries, endpoints);
        Clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(0, await after.RunOnceAsync(CancellationToken.None)); // nothing due before the 5 min retry
        _answer = 204;
        Clock.Advance(TimeSpan.FromMinutes(5));
        for (int pass = 0; pass < 20 && _accepted.Count < sent.Count; pass++) await after.RunOnceAsync(CancellationToken.None);

        Assert.Equal(sent.Select(e => e.Id).Order(StringComparer.Ordinal), _accepted.Select(r => r.Id).Order(StringComparer.Ordinal));
        Assert.Equal(sent.Where(e => e.ChannelId == "chan-a").Select(e => e.Id), _accepted.Select(r => r.Id).Where(id => id != sent[3].Id));
        Assert.All(_accepted, r => Assert.True(r.Verified));
        var listed = await deliveries.ListAsync(endpoint, 10);
        Assert.All(listed, d => Assert.Equal(SqlWebhookDeliveries.Delivered, d.State));
        var attempts = await deliveries.AttemptsAsync(listed.Single(d => d.EventId == sent[0].Id).Id);
        Assert.Equal([503, 503, 204], attempts.Select(a => a.Status));
        Assert.Equal(1024, attempts[0].AnswerHead!.Length);
        await restarted.DisposeAsync();
    }

    [Fact]
    public async Task An_operators_retry_schedule_is_the_one_followed_and_its_last_retry_ends_the_delivery()
    {
        string endpoint = await EndpointAsync();
        using var dispatcher = Dispatcher(backoff: new WebhookBackoff([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)]));
        var happened = await AppendAsync("chan-a");
        _answer = 503;

        Assert.Equal(1, await dispatcher.RunOnceAsync(CancellationToken.None));
        Clock.Advance(TimeSpan.FromSeconds(0.85));
        Assert.Equal(0, await dispatcher.RunOnceAsync(CancellationToken.None)); // 1 s less a tenth at most
        Clock.Advance(TimeSpan.FromSeconds(0.3));
        Assert.Equal(1, await dispatcher.RunOnceAsync(CancellationToken.None)); // not the default's 5 s
        Clock.Advance(TimeSpan.FromSeconds(2.3));
        Assert.Equal(1, await dispatcher.RunOnceAsync(CancellationToken.None));
        Clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, await dispatcher.RunOnceAsync(CancellationToken.None)); // three attempts: the schedule's two retries spent

        var delivery = Assert.Single(await _deliveries.ListAsync(endpoint, 10), d => d.EventId == happened.Id);
        Assert.Equal(SqlWebhookDeliveries.Failed, delivery.State);
        Assert.Equal(0, await PendingAsync());
        Assert.Equal([503, 503, 503], (await _deliveries.AttemptsAsync(delivery.Id)).Select(a => a.Status));
    }

    [Fact]
    public async Task An_endpoint_whose_attempts_all_fail_for_a_day_is_disabled_and_its_deliveries_wait()
    {
        string endpoint = await EndpointAsync();
        _answer = 500;
        var first = await AppendAsync("chan-0");
        var start = Clock.GetUtcNow();
        using var dispatcher = Dispatcher();
        // A platform whose receiver is broken while events keep coming: one every half hour, each on its own channel.
        for (int pass = 1; pass < 100 && (await _endpoints.GetAsync(endpoint))!.Enabled; pass++)
        {
            await dispatcher.RunOnceAsync(CancellationToken.None);
            Clock.Advance(TimeSpan.FromMinutes(30));
            await AppendAsync("chan-" + pass);
        }

        var disabled = (await _endpoints.GetAsync(endpoint))!;
        Assert.False(disabled.Enabled);
        Assert.Contains("failed", disabled.DisabledReason, StringComparison.Ordinal);
        Assert.InRange(Clock.GetUtcNow() - start, TimeSpan.FromHours(24), TimeSpan.FromHours(25.5));
        // Its pending deliveries are kept; no new event is queued for it while it is disabled, and nothing is sent.
        long pending = await PendingAsync();
        await AppendAsync("chan-late");
        Assert.Equal(pending, await PendingAsync());
        Clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, await dispatcher.RunOnceAsync(CancellationToken.None));

        // Enabled again with the receiver fixed: what waited goes out, the first event among it (its last try is at 27.6 h).
        _answer = 204;
        await _endpoints.UpdateAsync(endpoint, new WebhookEndpointSpec(null, null, null, true));
        Assert.Null((await _endpoints.GetAsync(endpoint))!.FailingSince);
        await DrainAsync(dispatcher);
        Assert.Equal(pending, _accepted.Count);
        Assert.Contains(_accepted, r => r.Id == first.Id);
    }

    [Fact]
    public async Task Subscriptions_the_pending_cap_test_events_redelivery_and_pruning()
    {
        string endpoint = await EndpointAsync([WebhookEventTypes.BroadcastStarted]);
        var outbox = new WebhookOutbox(Database, Clock, NullLogger<WebhookOutbox>.Instance) { MaxPendingPerEndpoint = 2 };
        foreach (var type in new[] { WebhookEventTypes.ChannelCreated, WebhookEventTypes.BroadcastStarted, WebhookEventTypes.BroadcastStarted,
                     WebhookEventTypes.BroadcastStarted })
            await outbox.AppendAsync(WebhookEvent.Create(type, "chan-a", Clock.GetUtcNow(), _ => { }));
        Assert.Equal(2, await PendingAsync()); // channel.created not subscribed; the third start over the cap

        string? test = await _outbox.AppendTestAsync(endpoint);
        Assert.NotNull(test);
        Assert.Null(await _outbox.AppendTestAsync("ep_none"));
        using var dispatcher = Dispatcher();
        await DrainAsync(dispatcher);
        Assert.Equal(3, _accepted.Count);
        Assert.Contains(_accepted, r => r.Id == test && r.Body.Contains("webhook.test", StringComparison.Ordinal));

        var delivered = (await _deliveries.ListAsync(endpoint, 10)).First(d => d.EventId == test);
        Assert.True(await _deliveries.RedeliverAsync(delivered.Id, Clock.GetUtcNow()));
        Assert.False(await _deliveries.RedeliverAsync(delivered.Id, Clock.GetUtcNow()));
        await DrainAsync(dispatcher);
        Assert.Equal(2, _accepted.Count(r => r.Id == test));

        Clock.Advance(TimeSpan.FromDays(8));
        await AppendAsync("chan-a");
        Assert.True(await _deliveries.PruneAsync(Clock.GetUtcNow() - WebhookDeliveryWorker.Retention) >= 6);
        var left = await _deliveries.ListAsync(endpoint, 10);
        Assert.Equal(SqlWebhookDeliveries.Pending, Assert.Single(left).State);
        Assert.Empty(await _deliveries.AttemptsAsync(delivered.Id));
    }

    [Fact]
    public async Task Two_workers_on_one_database_deliver_each_event_exactly_once_in_order_per_channel()
    {
        await EndpointAsync();
        var sent = new List<WebhookEvent>();
        for (int i = 0; i < 60; i++) sent.Add(await AppendAsync("chan-" + (i % 6)));
        // Two nodes: each its own connections to the same database.
        var second = Create();
        var (_, deliveries2, endpoints2) = Parts(second);
        using var node1 = Dispatcher();
        using var node2 = Dispatcher(deliveries2, endpoints2);

        async Task RunAsync(WebhookDispatcher node)
        {
            for (int pass = 0; pass < 500 && _accepted.Count < sent.Count; pass++) await node.RunOnceAsync(CancellationToken.None);
        }

        await Task.WhenAll(Task.Run(() => RunAsync(node1)), Task.Run(() => RunAsync(node2)));

        var ids = _accepted.Select(r => r.Id).ToList();
        Assert.Equal(sent.Count, ids.Count);
        Assert.Equal(sent.Count, ids.Distinct().Count());
        for (int channel = 0; channel < 6; channel++)
        {
            string id = "chan-" + channel;
            Assert.Equal(sent.Where(e => e.ChannelId == id).Select(e => e.Id), ids.Where(x => sent.First(e => e.Id == x).ChannelId == id));
        }
        await second.DisposeAsync();
    }
}

public sealed class SqliteWebhookDeliveryTests : WebhookDeliveryContract
{
    protected override ControlDatabase Create() => Sqlite();
}

[Trait("Kind", "Component")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresWebhookDeliveryTests(PostgresTestCluster cluster) : WebhookDeliveryContract
{
    private string? _connectionString;

    // Every Create() of one test (a restarted node, a second node) opens the same database.
    protected override ControlDatabase Create() => new PostgresControlDatabase(_connectionString ??= cluster.CreateDatabase("webhooks"));
}
