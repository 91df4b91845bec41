using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Faults;

/// <summary>
/// PostgreSQL stopped and started again under a live server (Database:Kind=postgres, clustered Quartz): live streams go
/// on, /readyz goes unready then ready, the API answers again in a bound and the scheduler still fires. Own server on
/// its own cluster: the shared one (BROADCAST_TEST_PG) is not this test's to stop.
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class PostgresRestartTests
{
    /// <summary>From PostgreSQL accepting connections again to the API answering.</summary>
    private static readonly TimeSpan ReconnectBound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Live_streams_go_on_through_a_PostgreSQL_restart_and_the_control_plane_reconnects()
    {
        using var pg = PostgresTestCluster.StartOwn();
        string connection = pg.CreateDatabase("pgrestart");
        await using var server = await ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments = ["--Database:Kind=postgres", $"--Database:ConnectionString={connection}"],
        });
        string Log(string m) => $"{m}{Environment.NewLine}--- server log ---{Environment.NewLine}{server.LogTail(100)}";
        var channel = await server.Api.CreateChannelAsync($"pg restart {Guid.NewGuid():N}");
        var scheduled = await server.Api.CreateChannelAsync($"pg scheduled {Guid.NewGuid():N}");
        await using var publisher = LavfiPublisher.Start(server.RtmpUrl(channel.StreamKey));
        string live = await Fault.WaitForAdvanceAsync(server.Viewer, channel.Slug, 0, 2, TimeSpan.FromSeconds(60), () => Log(publisher.Log.Tail(10)));
        Assert.Equal(HttpStatusCode.OK, await ReadyAsync(server));

        // 1. PostgreSQL goes away: /readyz says so, the live stream goes on without it.
        await Task.Run(pg.Stop);
        await WaitFor.ConditionAsync(async () => await ReadyAsync(server) == HttpStatusCode.ServiceUnavailable,
            TimeSpan.FromSeconds(30), "/readyz to report the database down", () => Log(""));
        long atStop = Fault.LastNumber(live);
        live = await Fault.WaitForAdvanceAsync(server.Viewer, channel.Slug, atStop, 3, TimeSpan.FromSeconds(40), () => Log(""));
        Assert.Null(Fault.Gap(live));

        // 2. It comes back: /readyz and the API answer again within the bound.
        await Task.Run(pg.Start);
        await WaitFor.ConditionAsync(async () => await ReadyAsync(server) == HttpStatusCode.OK,
            ReconnectBound, "/readyz to report ready after PostgreSQL came back", () => Log(""));
        ChannelStatus? status = null;
        await WaitFor.ConditionAsync(async () =>
        {
            status = await server.Api.GetChannelAsync(channel.Id);
            return status.Live == true;
        }, ReconnectBound, "GET /api/channels/{id} to answer, live, after PostgreSQL came back", () => Log($"{status}"));

        // 3. Quartz (clustered, on PostgreSQL) still fires: an event created now ends on its own at its end time.
        var now = DateTimeOffset.UtcNow;
        string eventId;
        using (var r = await server.Http.PostAsJsonAsync("api/events", new
        {
            channelId = scheduled.Id, title = "after the restart", startsAt = Iso(now.AddSeconds(3)), endsAt = Iso(now.AddSeconds(8)), record = false,
        }))
        {
            string body = await r.Content.ReadAsStringAsync();
            Assert.True(r.StatusCode == HttpStatusCode.Created, Log($"POST /api/events answered {(int)r.StatusCode}: {body}"));
            eventId = JsonNode.Parse(body)!["id"]!.GetValue<string>();
        }
        string state = "";
        await WaitFor.ConditionAsync(async () =>
        {
            state = JsonNode.Parse(await server.Http.GetStringAsync($"api/events/{eventId}"))!["state"]!.GetValue<string>();
            return state == "ended";
        }, TimeSpan.FromSeconds(60), "the scheduler to end the event at its end time", () => Log(state), TimeSpan.FromMilliseconds(500));

        // 4. The publisher was never dropped and the playlist kept its numbers.
        live = await Fault.WaitForAdvanceAsync(server.Viewer, channel.Slug, Fault.LastNumber(live), 1, TimeSpan.FromSeconds(30), () => Log(""));
        Assert.Null(Fault.Gap(live));
        Assert.False(publisher.HasExited, Log(publisher.Log.Tail(10)));
        Assert.DoesNotContain($"stopped publishing {channel.Slug}", server.LogTail(5000));
    }

    private static async Task<HttpStatusCode> ReadyAsync(ServerProcess server)
    {
        using var r = await server.Viewer.GetAsync("readyz");
        return r.StatusCode;
    }

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
