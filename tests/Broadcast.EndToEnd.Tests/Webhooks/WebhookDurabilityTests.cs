using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Broadcast.TestSupport;
using Microsoft.AspNetCore.Http;
using StandardWebhooks;

namespace Broadcast.EndToEnd.Tests.Webhooks;

/// <summary>
/// Delivery that loses nothing, with real server processes: a receiver that is down while the server is killed (SIGKILL)
/// and started again on the same database still gets every event once it is back; two nodes on one PostgreSQL database
/// deliver each event once, in order per channel. Channel changes through the API make the events (no encoder needed);
/// a short retry schedule (<c>Webhooks:RetryDelays</c>) keeps the wait in seconds.
/// </summary>
public sealed class WebhookDurabilityTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(120);

    /// <summary>1 s ten times, then 3 s ten times: about 40 s of retries, longer than the server's restart.</summary>
    private static readonly string RetryDelays = string.Join(',', Enumerable.Repeat("1s", 10).Concat(Enumerable.Repeat("3s", 10)));

    [Fact]
    public async Task With_the_receiver_down_and_the_server_killed_and_started_again_every_event_arrives_once_it_is_back()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Mark(string step) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:0.0} s  {step}");
        await using var receiver = await Receiver.StartAsync();
        using var data = new TempDirectory("webhook-restart");
        string[] arguments =
        [
            "--Transcode:Enabled=false", "--Outbound:AllowedNetworks=127.0.0.1/32", $"--Webhooks:RetryDelays={RetryDelays}",
            // The database and the server secret (which encrypts the endpoint's signing secret) outlive the process.
            $"--Database:ConnectionString=Data Source={Path.Combine(data.Path, "broadcast.db")}",
            $"--Secrets:Key={Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))}",
        ];
        var first = await ServerProcess.StartAsync(new ServerOptions { ExtraArguments = arguments });
        ServerProcess? second = null;
        Mark("first server up");
        try
        {
            string Logs() => $"--- first ---{Environment.NewLine}{first.LogTail(40)}{Environment.NewLine}--- second ---{Environment.NewLine}"
                + (second?.LogTail(60) ?? "(not started)") + $"{Environment.NewLine}--- receiver ---{Environment.NewLine}{receiver.Summary()}";
            var (endpointId, secret) = await RegisterAsync(first, receiver);

            // Three channels, each made and renamed twice: nine events, three queues.
            var expected = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            for (int c = 0; c < 3; c++)
            {
                var channel = await first.Api.CreateChannelAsync($"restart {c}");
                expected[channel.Id] = [$"channel.created:restart {c}"];
                for (int rename = 1; rename <= 2; rename++)
                {
                    string name = $"restart {c}.{rename}";
                    await RenameAsync(first, channel.Id, name);
                    expected[channel.Id].Add($"channel.updated:{name}");
                }
            }

            // Every queue's head was refused twice (a retry on the short schedule) and the attempts are recorded.
            await WaitFor.ConditionAsync(async () => (await HeadAttemptsAsync(first, endpointId)).Count(a => a >= 2) == expected.Count, Bound,
                "two refused attempts of each channel's first event", Logs);
            Mark("heads refused twice; killing the first server");
            first.KillNode(); // SIGKILL: no graceful stop, whatever it held in memory is gone
            await first.WaitForExitAsync(Bound);

            second = await ServerProcess.StartAsync(new ServerOptions { ExtraArguments = arguments });
            // The restarted node takes the retries up again while the receiver is still down...
            Mark("second server up");
            int refusedAtRestart = receiver.Refused;
            await WaitFor.ConditionAsync(() => receiver.Refused >= refusedAtRestart + expected.Count, Bound, "retries from the restarted node", Logs);
            Assert.Empty(receiver.Accepted);
            receiver.Up = true;
            Mark("receiver up");

            // ...and once the receiver is back every event arrives: none lost, in each channel's order.
            await WaitFor.ConditionAsync(() => receiver.Accepted.Select(r => r.Id).Distinct().Count() >= expected.Values.Sum(v => v.Count), Bound,
                "every event at the receiver", Logs);
            Mark("every event arrived");
            var heard = receiver.HeardByChannel();
            foreach (var (channelId, events) in expected)
                Assert.True(heard.TryGetValue(channelId, out var got) && got.SequenceEqual(events),
                    $"channel {channelId}: expected {string.Join(", ", events)}, heard {string.Join(", ", heard.GetValueOrDefault(channelId) ?? [])}");
            receiver.VerifyAll(secret);
        }
        finally
        {
            if (second is not null) await second.DisposeAsync();
            await first.DisposeAsync();
        }
    }

    [Fact]
    public async Task Two_nodes_on_one_PostgreSQL_database_deliver_each_event_once_in_order_per_channel()
    {
        using var pg = new PostgresTestCluster();
        await using var receiver = await Receiver.StartAsync();
        receiver.Up = true;
        string[] arguments =
        [
            "--Roles=control", "--Database:Kind=postgres", $"--Database:ConnectionString={pg.CreateDatabase("webhooks2")}", "--Scheduling:Clustered=false",
            $"--Secrets:Key={Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))}", "--Outbound:AllowedNetworks=127.0.0.1/32",
        ];
        await using var a = await ServerProcess.StartAsync(new ServerOptions { ExtraArguments = arguments });
        await using var b = await ServerProcess.StartAsync(new ServerOptions { ExtraArguments = arguments });
        string Logs() => $"--- node A ---{Environment.NewLine}{a.LogTail(40)}{Environment.NewLine}--- node B ---{Environment.NewLine}{b.LogTail(40)}"
            + $"{Environment.NewLine}--- receiver ---{Environment.NewLine}{receiver.Summary()}";
        var (_, secret) = await RegisterAsync(a, receiver);

        // Four channels at once, each made on one node and renamed nine times through the two nodes in turn: 40 events.
        const int channels = 4, renames = 9;
        var expected = new ConcurrentDictionary<string, List<string>>(StringComparer.Ordinal);
        await Task.WhenAll(Enumerable.Range(0, channels).Select(async c =>
        {
            var made = await (c % 2 == 0 ? a : b).Api.CreateChannelAsync($"two nodes {c}");
            var events = new List<string> { $"channel.created:two nodes {c}" };
            for (int rename = 1; rename <= renames; rename++)
            {
                string name = $"two nodes {c}.{rename}";
                await RenameAsync((c + rename) % 2 == 0 ? a : b, made.Id, name);
                events.Add($"channel.updated:{name}");
            }
            expected[made.Id] = events;
        }));
        int total = expected.Values.Sum(v => v.Count);
        Assert.Equal(channels * (renames + 1), total);

        await WaitFor.ConditionAsync(() => receiver.Accepted.Count >= total, Bound, $"{total} events at the receiver", Logs);
        // Both nodes poll every second; give a second delivery of any event the chance to show before counting.
        await WaitFor.ConditionAsync(async () => (await PendingAsync(a)) == 0, Bound, "no delivery pending", Logs);
        var ids = receiver.Accepted.Select(r => r.Id).ToList();
        Assert.True(ids.Count == total && ids.Distinct().Count() == total,
            $"{ids.Count} requests for {ids.Distinct().Count()} events; twice: {string.Join(", ", ids.GroupBy(i => i).Where(g => g.Count() > 1).Select(g => g.Key))}");
        var heard = receiver.HeardByChannel();
        foreach (var (channelId, events) in expected)
            Assert.True(heard.TryGetValue(channelId, out var got) && got.SequenceEqual(events),
                $"channel {channelId}: expected {string.Join(", ", events)}, heard {string.Join(", ", heard.GetValueOrDefault(channelId) ?? [])}");
        receiver.VerifyAll(secret);

        async Task<int> PendingAsync(ServerProcess node)
        {
            var endpoints = JsonDocument.Parse(await node.Http.GetStringAsync("api/webhooks")).RootElement;
            string id = endpoints[0].GetProperty("id").GetString()!;
            var deliveries = JsonDocument.Parse(await node.Http.GetStringAsync($"api/webhooks/{id}/deliveries")).RootElement;
            return deliveries.EnumerateArray().Count(d => d.GetProperty("state").GetString() == "pending");
        }
    }

    private static async Task<(string Id, string Secret)> RegisterAsync(ServerProcess server, Receiver receiver)
    {
        using var registered = await server.Http.PostAsJsonAsync("api/webhooks",
            new { url = receiver.Endpoint.Url("hooks").ToString(), description = "platform", enabled = true });
        string body = await registered.Content.ReadAsStringAsync();
        Assert.True(registered.StatusCode == HttpStatusCode.Created, $"POST /api/webhooks answered {(int)registered.StatusCode}: {body}");
        var root = JsonDocument.Parse(body).RootElement;
        return (root.GetProperty("id").GetString()!, root.GetProperty("secret").GetString()!);
    }

    private static async Task RenameAsync(ServerProcess server, string channelId, string name)
    {
        using var patched = await server.Http.PatchAsJsonAsync($"api/channels/{channelId}", new { name });
        Assert.True(patched.IsSuccessStatusCode, $"PATCH api/channels/{channelId} answered {(int)patched.StatusCode}: {await patched.Content.ReadAsStringAsync()}");
    }

    /// <summary>The attempts made so far of each delivery that has been tried (the heads of the channels' queues).</summary>
    private static async Task<List<int>> HeadAttemptsAsync(ServerProcess server, string endpointId)
    {
        var deliveries = JsonDocument.Parse(await server.Http.GetStringAsync($"api/webhooks/{endpointId}/deliveries")).RootElement;
        return [.. deliveries.EnumerateArray().Select(d => d.GetProperty("attempts").GetInt32()).Where(n => n > 0)];
    }

    /// <summary>The platform's receiver: down (503) until <see cref="Up"/>, then 204; it keeps what it accepted.</summary>
    private sealed class Receiver : IAsyncDisposable
    {
        private readonly ConcurrentQueue<(string Id, ReceivedRequest Request)> _accepted = new();
        private int _refused;
        private volatile bool _up;

        private Receiver(LoopbackHttpEndpoint endpoint) => Endpoint = endpoint;

        public LoopbackHttpEndpoint Endpoint { get; }

        public bool Up { get => _up; set => _up = value; }

        public int Refused => Volatile.Read(ref _refused);

        public IReadOnlyList<(string Id, ReceivedRequest Request)> Accepted => [.. _accepted];

        public static async Task<Receiver> StartAsync()
        {
            Receiver? receiver = null;
            var endpoint = await LoopbackHttpEndpoint.StartAsync(async (request, response, token) =>
            {
                if (receiver is { Up: true })
                {
                    receiver._accepted.Enqueue((request.Headers["webhook-id"], request));
                    response.StatusCode = StatusCodes.Status204NoContent;
                    return;
                }
                if (receiver is not null) Interlocked.Increment(ref receiver._refused);
                response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                await response.WriteAsync("down for maintenance", token);
            });
            receiver = new Receiver(endpoint);
            return receiver;
        }

        /// <summary>Per channel, "type:name" of each event in the order it first arrived (a repeat by webhook-id counts once).</summary>
        public Dictionary<string, List<string>> HeardByChannel()
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var heard = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            foreach (var (id, request) in _accepted)
            {
                if (!seen.Add(id)) continue;
                var root = JsonDocument.Parse(request.BodyText).RootElement;
                var data = root.GetProperty("data");
                string channelId = data.GetProperty("channelId").GetString()!;
                if (!heard.TryGetValue(channelId, out var list)) heard[channelId] = list = [];
                list.Add($"{root.GetProperty("type").GetString()}:{data.GetProperty("name").GetString()}");
            }
            return heard;
        }

        /// <summary>Every accepted request verifies with the StandardWebhooks package and the secret shown once, and names its own id.</summary>
        public void VerifyAll(string secret)
        {
            var webhook = new StandardWebhook(secret);
            foreach (var (id, request) in _accepted)
            {
                var headers = new HeaderDictionary();
                foreach (var (name, value) in request.Headers) headers[name] = value;
                webhook.Verify(request.BodyText, headers);
                Assert.Equal(id, JsonDocument.Parse(request.BodyText).RootElement.GetProperty("id").GetString());
            }
        }

        public string Summary() => $"{Refused} refused, {_accepted.Count} accepted: "
            + string.Join(", ", _accepted.Select(a => a.Id).GroupBy(i => i).Select(g => g.Count() > 1 ? $"{g.Key}×{g.Count()}" : g.Key));

        public ValueTask DisposeAsync() => Endpoint.DisposeAsync();
    }
}
