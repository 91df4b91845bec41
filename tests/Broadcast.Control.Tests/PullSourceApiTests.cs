using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Broadcast.Control.Channels;
using Broadcast.Control.Sources;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Tests;

/// <summary>
/// Pull sources through the admin API on a real Kestrel over SQLite: channel sources, an event's <c>pullSource</c>, validation,
/// and what the coordinator hands the runner. The runner is a recorder standing in for the pipeline (ffmpeg and the hub have no
/// place in the control plane's tests; the server's end-to-end tests run the real one).
/// </summary>
public sealed class PullSourceApiTests : IAsyncLifetime
{
    private const string Token = "test-admin-token-pull-0123456789";
    private readonly RecordingRunner _runner = new();
    private ControlApiHost _host = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _host = await ControlApiHost.StartAsync(Token, new Dictionary<string, string?> { ["Events:PublishLeadSeconds"] = "0" },
            services => services.AddSingleton<IPullSourceRunner>(_runner));
        _client = _host.Client;
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static StringContent Json(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    private static StringContent Raw(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> BodyAsync(HttpResponseMessage response) => JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private async Task<(string Id, string Slug)> ChannelAsync(bool requireSchedule = false)
    {
        using var response = await _client.PostAsync("/api/channels", Json(new { name = $"Stage {Guid.NewGuid():N}", requireSchedule }));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await BodyAsync(response);
        return (body.GetProperty("id").GetString()!, body.GetProperty("slug").GetString()!);
    }

    private Task WaitForAssignmentAsync(Func<IReadOnlyList<PullAssignment>, bool> condition, string what) =>
        Broadcast.TestSupport.WaitFor.ConditionAsync(() => condition(_runner.Last), TimeSpan.FromSeconds(20), what,
            () => string.Join("; ", _runner.Last));

    [Fact]
    public async Task A_channel_source_is_set_read_and_removed()
    {
        var (id, slug) = await ChannelAsync();
        using (var none = await _client.GetAsync($"/api/channels/{id}/source"))
            Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);

        using (var put = await _client.PutAsync($"/api/channels/{id}/source", Json(new { url = "rtmp://guest.example.com/live/KEY", loop = false })))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            var body = await BodyAsync(put);
            Assert.Equal("rtmp://guest.example.com/live/KEY", body.GetProperty("url").GetString());
            Assert.False(body.GetProperty("loop").GetBoolean());
        }
        await WaitForAssignmentAsync(a => a.Any(x => x.Slug == slug && x.Url == "rtmp://guest.example.com/live/KEY" && x.Key.StartsWith($"channel:{id}:", StringComparison.Ordinal)),
            "the channel's source handed to the runner");

        // The runner's state shows on GET, for this version of the source.
        var assignment = _runner.Last.Single(x => x.Slug == slug);
        _runner.States[slug] = new PullSourceStatus(assignment.Key, "retrying", "Connection refused", 3, DateTimeOffset.UtcNow,
            DateTimeOffset.UtcNow.AddSeconds(4), "rtmp://guest.example.com/live/…", null);
        using (var get = await _client.GetAsync($"/api/channels/{id}/source"))
        {
            var status = (await BodyAsync(get)).GetProperty("status");
            Assert.Equal("retrying", status.GetProperty("state").GetString());
            Assert.Equal("Connection refused", status.GetProperty("reason").GetString());
            Assert.Equal(3, status.GetProperty("attempts").GetInt32());
            Assert.Equal("rtmp://guest.example.com/live/…", status.GetProperty("source").GetString());
        }

        // A new version of the source does not show the old one's state.
        using (var put = await _client.PutAsync($"/api/channels/{id}/source", Json(new { url = "file:intro.mp4", loop = true })))
        {
            var body = await BodyAsync(put);
            Assert.True(body.GetProperty("loop").GetBoolean());
            Assert.False(body.TryGetProperty("status", out _));
        }
        await WaitForAssignmentAsync(a => a.Any(x => x.Slug == slug && x.Url == "file:intro.mp4" && x.Loop), "the changed source");

        using (var delete = await _client.DeleteAsync($"/api/channels/{id}/source"))
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        await WaitForAssignmentAsync(a => a.All(x => x.Slug != slug), "the source gone from the runner");
        using (var gone = await _client.GetAsync($"/api/channels/{id}/source"))
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task Unknown_channels_are_404()
    {
        using var put = await _client.PutAsync("/api/channels/nope/source", Json(new { url = "rtmp://h/live/k" }));
        Assert.Equal(HttpStatusCode.NotFound, put.StatusCode);
        using var delete = await _client.DeleteAsync("/api/channels/nope/source");
        Assert.Equal(HttpStatusCode.NotFound, delete.StatusCode);
    }

    // (body, field named)
    public static TheoryData<string, string> Invalid => new()
    {
        { """{"url":"ftp://example.com/a.mp4"}""", "url" },
        { """{"url":"rtsp://camera/1"}""", "url" },
        { """{"url":"example.com/live"}""", "url" },
        { """{"url":""}""", "url" },
        { """{}""", "url" },
        { """{"url":"   "}""", "url" },
        { """{"url":42}""", "url" },
        { """{"url":"rtmp://h/live/k","loop":"yes"}""", "loop" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public async Task Invalid_sources_are_400_naming_the_field(string json, string field)
    {
        var (id, _) = await ChannelAsync();
        using var response = await _client.PutAsync($"/api/channels/{id}/source", Raw(json));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True((await BodyAsync(response)).GetProperty("errors").TryGetProperty(field, out _), json);
        using var get = await _client.GetAsync($"/api/channels/{id}/source");
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task An_event_names_a_source_that_patch_and_put_change_or_remove()
    {
        var (id, _) = await ChannelAsync();
        var start = DateTimeOffset.UtcNow.AddDays(1);
        using var bad = await _client.PostAsync("/api/events", Json(new
        {
            channelId = id, title = "Premiere", startsAt = Iso(start), endsAt = Iso(start.AddHours(1)), pullSource = new { url = "gopher://x/y" },
        }));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.True((await BodyAsync(bad)).GetProperty("errors").TryGetProperty("pullSource.url", out _));
        using (var list = await _client.GetAsync($"/api/events?channelId={id}"))
            Assert.Equal(0, (await BodyAsync(list)).GetArrayLength());

        using var created = await _client.PostAsync("/api/events", Json(new
        {
            channelId = id, title = "Premiere", startsAt = Iso(start), endsAt = Iso(start.AddHours(1)), pullSource = new { url = "file:premiere.mp4", loop = true },
        }));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var ev = await BodyAsync(created);
        var eventId = ev.GetProperty("id").GetString()!;
        Assert.Equal("file:premiere.mp4", ev.GetProperty("pullSource").GetProperty("url").GetString());
        Assert.True(ev.GetProperty("pullSource").GetProperty("loop").GetBoolean());

        using (var list = await _client.GetAsync($"/api/events?channelId={id}"))
            Assert.Equal("file:premiere.mp4", (await BodyAsync(list))[0].GetProperty("pullSource").GetProperty("url").GetString());

        // PATCH without pullSource keeps it; with another url changes it; with an empty url removes it.
        using (var patch = await _client.PatchAsync($"/api/events/{eventId}", Json(new { title = "Premiere (director's cut)" })))
            Assert.Equal("file:premiere.mp4", (await BodyAsync(patch)).GetProperty("pullSource").GetProperty("url").GetString());
        using (var patch = await _client.PatchAsync($"/api/events/{eventId}", Json(new { pullSource = new { url = "https://cdn.example.com/show/index.m3u8" } })))
            Assert.Equal("https://cdn.example.com/show/index.m3u8", (await BodyAsync(patch)).GetProperty("pullSource").GetProperty("url").GetString());
        using (var patch = await _client.PatchAsync($"/api/events/{eventId}", Json(new { pullSource = new { url = "ftp://nohost/a.mp4" } })))
        {
            Assert.Equal(HttpStatusCode.BadRequest, patch.StatusCode);
            Assert.True((await BodyAsync(patch)).GetProperty("errors").TryGetProperty("pullSource.url", out _));
        }
        using (var get = await _client.GetAsync($"/api/events/{eventId}"))
            Assert.Equal("https://cdn.example.com/show/index.m3u8", (await BodyAsync(get)).GetProperty("pullSource").GetProperty("url").GetString());
        using (var patch = await _client.PatchAsync($"/api/events/{eventId}", Json(new { pullSource = new { url = "" } })))
            Assert.False((await BodyAsync(patch)).TryGetProperty("pullSource", out _));

        // PUT replaces: a source omitted is removed.
        using (var patch = await _client.PatchAsync($"/api/events/{eventId}", Json(new { pullSource = new { url = "file:a.mp4" } })))
            Assert.True((await BodyAsync(patch)).TryGetProperty("pullSource", out _));
        using (var put = await _client.PutAsync($"/api/events/{eventId}", Json(new { title = "Premiere", startsAt = Iso(start), endsAt = Iso(start.AddHours(1)) })))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            Assert.False((await BodyAsync(put)).TryGetProperty("pullSource", out _));
        }
    }

    [Fact]
    public async Task An_event_source_pulls_from_its_start_to_its_end_and_wins_over_the_channel_source()
    {
        var (id, slug) = await ChannelAsync(requireSchedule: true);
        using (var put = await _client.PutAsync($"/api/channels/{id}/source", Json(new { url = "rtmp://studio/live/k" })))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        // A later event: nothing pulls yet (the channel publishes only inside events).
        var later = DateTimeOffset.UtcNow.AddHours(3);
        using (var future = await _client.PostAsync("/api/events", Json(new
        {
            channelId = id, title = "Later", startsAt = Iso(later), endsAt = Iso(later.AddHours(1)), pullSource = new { url = "file:later.mp4" },
        })))
            Assert.Equal(HttpStatusCode.Created, future.StatusCode);

        // An event in progress with a source: it pulls, not the channel's own source.
        var now = DateTimeOffset.UtcNow;
        using var current = await _client.PostAsync("/api/events", Json(new
        {
            channelId = id, title = "Now", startsAt = Iso(now.AddMinutes(-1)), endsAt = Iso(now.AddHours(1)), pullSource = new { url = "file:now.mp4", loop = true },
        }));
        Assert.Equal(HttpStatusCode.Created, current.StatusCode);
        var eventId = (await BodyAsync(current)).GetProperty("id").GetString()!;
        await WaitForAssignmentAsync(a => a.Any(x => x.Slug == slug && x.Url == "file:now.mp4" && x.Key.StartsWith($"event:{eventId}:", StringComparison.Ordinal)),
            "the event's source on the channel");
        Assert.Single(_runner.Last, x => x.Slug == slug);

        // Ended: the event's source goes, and outside every window so does the channel's.
        using (var end = await _client.PostAsync($"/api/events/{eventId}/end", null))
            Assert.Equal(HttpStatusCode.OK, end.StatusCode);
        await WaitForAssignmentAsync(a => a.All(x => x.Slug != slug), "nothing pulling after the event ended");
    }

    [Fact]
    public async Task The_openapi_document_lists_the_source_routes()
    {
        using var response = await _client.GetAsync("/openapi/v1.json");
        var doc = await BodyAsync(response);
        var path = doc.GetProperty("paths").GetProperty("/api/channels/{id}/source");
        Assert.True(path.TryGetProperty("get", out _));
        Assert.True(path.TryGetProperty("put", out _));
        Assert.True(path.TryGetProperty("delete", out _));
        Assert.True(doc.GetProperty("components").GetProperty("schemas").TryGetProperty("PullSourceRequest", out _));
    }

    /// <summary>Keeps what the coordinator last applied and answers states the test sets.</summary>
    [Fact]
    public async Task With_several_ingest_nodes_a_pull_runs_on_the_node_holding_its_channels_lease_and_moves_when_it_lapses()
    {
        var runner = new RecordingRunner();
        var leaseSettings = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Database:Kind"] = "sqlite" }).Build();
        await using var host = await ControlApiHost.StartAsync(Token, new Dictionary<string, string?>(), services => services
            .AddSingleton<IPullSourceRunner>(runner)
            .AddPublishPolicy(leaseSettings));
        var coordinator = host.App.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<PullSourceCoordinator>().Single();
        var leases = host.App.Services.GetRequiredService<IChannelLeaseRepository>();
        string node = host.App.Services.GetRequiredService<ChannelLeases>().NodeId;
        async Task<PullAssignment> AssignmentAsync(string name)
        {
            using var created = await host.Client.PostAsync("/api/channels", Json(new { name = $"{name} {Guid.NewGuid():N}" }));
            var body = await BodyAsync(created);
            string id = body.GetProperty("id").GetString()!;
            return new PullAssignment(id, body.GetProperty("slug").GetString()!, $"rtmp://example.com/live/{name}", false, $"channel:{id}:1");
        }
        var x = await AssignmentAsync("x");
        var y = await AssignmentAsync("y");

        // Another ingest node holds x (its pull, or an encoder, runs there): this node runs y only, and holds y's lease now.
        var now = DateTimeOffset.UtcNow;
        await leases.AcquireAsync(x.ChannelId, "other-node", now, now.AddMinutes(5), default);
        Assert.Equal([y], await coordinator.MineAsync([x, y], default));
        Assert.Equal(node, (await leases.AcquireAsync(y.ChannelId, "other-node", now, now.AddMinutes(5), default))!.NodeId);

        // That node died: once its lease lapses the next pass takes x over here.
        await leases.AcquireAsync(x.ChannelId, "other-node", now, now.AddSeconds(-1), default);
        Assert.Equal([x, y], await coordinator.MineAsync([x, y], default));
    }

    private sealed class RecordingRunner : IPullSourceRunner
    {
        private IReadOnlyList<PullAssignment> _last = [];

        public IReadOnlyList<PullAssignment> Last => Volatile.Read(ref _last);

        public System.Collections.Concurrent.ConcurrentDictionary<string, PullSourceStatus> States { get; } = new();

        public void Apply(IReadOnlyList<PullAssignment> assignments) => Volatile.Write(ref _last, assignments);

        public PullSourceStatus? Find(string slug) => States.GetValueOrDefault(slug);
    }

    // (url, words in the 400's message for field url): each kind the outbound policy refuses, by IP literal and by a name that resolves
    // (through the test host's fake resolver) into the range. Nothing is connected to.
    public static TheoryData<string, string> Refused => new()
    {
        { "rtmp://127.0.0.1/live/key", "a loopback address" },
        { "rtmp://loopback.test/live/key", "the host resolves to a loopback address" },
        { "http://[::1]:8080/live.m3u8", "a loopback address" },
        { "http://169.254.169.254/latest/meta-data/", "link-local" },
        { "https://metadata.test/latest/meta-data/", "the host resolves to a link-local address" },
        { "rtmp://10.0.0.5/live/key", "a private address" },
        { "rtmps://private.test/live/key", "the host resolves to a private address" },
        { "srt://192.168.1.10:9000", "a private address" },
        { "srt://172.16.0.1:9000", "a private address" },
        { "rtmp://100.64.0.1/live/key", "carrier-grade NAT" },
        { "http://[fd00::1]:8080/a.m3u8", "unique-local" },
        { "http://[fe80::1]:8080/a.m3u8", "link-local" },
        { "http://[::ffff:127.0.0.1]:8080/a.m3u8", "a loopback address" },
        { "http://mapped.test:8080/a.m3u8", "the host resolves to a private address" },
        { "rtmp://rebind.test/live/key", "the host resolves to a loopback address" },
        { "srt://0.0.0.0:9000", "unspecified" },
        { "srt://0.0.0.0:9000?mode=listener", "mode=listener" },
        { "srt://guest.example.com:9000?mode=listener", "only caller mode" },
        { "srt://guest.example.com:9000?mode=rendezvous", "mode=rendezvous" },
        { "srt://guest.example.com:9000?localport=9000", "'localport'" },
        { "rtmp://guest.example.com/live/key?listen=1", "listen" },
        { "http://guest.example.com:22/a.m3u8", "port 22" },
        { "rtmp://224.0.0.1/live/key", "multicast" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task Sources_the_outbound_policy_refuses_are_400_naming_the_field_and_the_reason(string url, string words)
    {
        var (id, _) = await ChannelAsync();
        using var response = await _client.PutAsync($"/api/channels/{id}/source", Json(new { url }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var message = (await BodyAsync(response)).GetProperty("errors").GetProperty("url")[0].GetString()!;
        Assert.Contains(words, message, StringComparison.Ordinal);
        Assert.StartsWith("The url ", message, StringComparison.Ordinal);
        using (var get = await _client.GetAsync($"/api/channels/{id}/source"))
            Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);

        // The same URL as an event's source: 400 naming pullSource.url, and no event stored.
        var start = DateTimeOffset.UtcNow.AddDays(1);
        using var ev = await _client.PostAsync("/api/events", Json(new
        {
            channelId = id, title = "Refused premiere", startsAt = Iso(start), endsAt = Iso(start.AddHours(1)), pullSource = new { url },
        }));
        Assert.Equal(HttpStatusCode.BadRequest, ev.StatusCode);
        Assert.Contains(words, (await BodyAsync(ev)).GetProperty("errors").GetProperty("pullSource.url")[0].GetString(), StringComparison.Ordinal);
        using (var list = await _client.GetAsync($"/api/events?channelId={id}"))
            Assert.Equal(0, (await BodyAsync(list)).GetArrayLength());
    }

    [Fact]
    public async Task A_name_that_does_not_resolve_now_is_stored_and_checked_again_when_the_pull_starts()
    {
        var (id, _) = await ChannelAsync();
        using var put = await _client.PutAsync($"/api/channels/{id}/source", Json(new { url = "rtmp://not-yet.invalid/live/key" }));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
    }

    [Fact]
    public async Task An_allow_listed_loopback_source_is_accepted_and_stores_its_certificate_switch()
    {
        await using var host = await ControlApiHost.StartAsync(Token, new Dictionary<string, string?>
        {
            ["Outbound:AllowedNetworks"] = "127.0.0.0/8, ::1/128",
            ["Outbound:AllowedHosts"] = "studio.test",
        }, services => services.AddSingleton<IPullSourceRunner>(new RecordingRunner()));
        using var channel = await host.Client.PostAsync("/api/channels", Json(new { name = $"Allowed {Guid.NewGuid():N}" }));
        var id = (await BodyAsync(channel)).GetProperty("id").GetString()!;
        ControlApiHost.Resolver.Map("studio.test", "10.20.30.40");

        foreach (var url in new[] { "rtmp://127.0.0.1:19350/live/key", "https://[::1]:8443/live.m3u8", "rtmps://localhost:8443/live/key", "srt://studio.test:9000" })
        {
            using var put = await host.Client.PutAsync($"/api/channels/{id}/source", Json(new { url, allowUntrustedCertificate = true }));
            Assert.True(put.StatusCode == HttpStatusCode.OK, $"{url}: {await put.Content.ReadAsStringAsync()}");
            var body = await BodyAsync(put);
            Assert.Equal(url, body.GetProperty("url").GetString());
            Assert.True(body.GetProperty("allowUntrustedCertificate").GetBoolean());
        }
        using (var get = await host.Client.GetAsync($"/api/channels/{id}/source"))
            Assert.True((await BodyAsync(get)).GetProperty("allowUntrustedCertificate").GetBoolean());
        // The allow-list lifts the address rules only: a listener is still refused, and other private ranges too.
        using (var listener = await host.Client.PutAsync($"/api/channels/{id}/source", Json(new { url = "srt://127.0.0.1:9000?mode=listener" })))
            Assert.Equal(HttpStatusCode.BadRequest, listener.StatusCode);
        using (var other = await host.Client.PutAsync($"/api/channels/{id}/source", Json(new { url = "rtmp://10.0.0.5/live/key" })))
            Assert.Equal(HttpStatusCode.BadRequest, other.StatusCode);
        using (var off = await host.Client.PutAsync($"/api/channels/{id}/source", Json(new { url = "rtmp://127.0.0.1:19350/live/key" })))
            Assert.False((await BodyAsync(off)).GetProperty("allowUntrustedCertificate").GetBoolean());
    }

}
