using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Broadcast.Control.Api;
using Broadcast.Control.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Tests;

/// <summary>The admin API on a real Kestrel bound to 127.0.0.1:0, over a SQLite file.</summary>
public sealed class ControlApiTests : IAsyncLifetime
{
    private const string Token = "test-admin-token-0123456789abcdef";
    private ControlApiHost _host = null!;
    private WebApplication _app = null!;
    private HttpClient _client = null!;
    private Uri _base = null!;

    public async Task InitializeAsync()
    {
        _host = await ControlApiHost.StartAsync(Token, new Dictionary<string, string?> { ["Rtmp:Port"] = "19350" }, services => services.AddSingleton<IChannelLiveStatus, FakeLiveStatus>());
        _app = _host.App;
        _client = _host.Client;
        _base = _host.BaseAddress;
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    /// <summary>Stands in for the pipeline's registry: a channel is live when its slug starts with "live".</summary>
    private sealed class FakeLiveStatus : IChannelLiveStatus
    {
        public ValueTask<ChannelLiveState> GetAsync(Channel channel, CancellationToken cancellationToken)
            => ValueTask.FromResult(channel.Slug.StartsWith("live", StringComparison.Ordinal)
                ? new ChannelLiveState(true, DateTimeOffset.UnixEpoch, 3)
                : ChannelLiveState.Offline);
    }

    private Task<HttpResponseMessage> PostJsonAsync(string path, string json, HttpClient? client = null)
        => (client ?? _client).PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
        => JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    private async Task<JsonElement> CreateAsync(string name)
    {
        using var response = await PostJsonAsync("/api/channels", JsonSerializer.Serialize(new { name }));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await JsonAsync(response);
    }

    private static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await JsonAsync(response);
        Assert.Equal((int)status, body.GetProperty("status").GetInt32());
        return body;
    }

    [Fact]
    public async Task Create_returns_201_with_key_and_urls()
    {
        using var response = await PostJsonAsync("/api/channels", """{"name":" Main Stage ","requireSchedule":true,"lowLatency":true,"realTime":true}""");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await JsonAsync(response);
        var id = body.GetProperty("id").GetString()!;
        Assert.Equal($"/api/channels/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal("Main Stage", body.GetProperty("name").GetString());
        Assert.Equal("main-stage", body.GetProperty("slug").GetString());
        Assert.True(StreamKeys.IsWellFormed(body.GetProperty("streamKey").GetString()));
        Assert.Equal("rtmp://127.0.0.1:19350/live", body.GetProperty("rtmpUrl").GetString());
        Assert.Equal($"http://127.0.0.1:{_base.Port}/live/main-stage/master.m3u8", body.GetProperty("hlsUrl").GetString());
        Assert.Equal($"http://127.0.0.1:{_base.Port}/live/main-stage/manifest.mpd", body.GetProperty("dashUrl").GetString());
        Assert.True(body.GetProperty("requireSchedule").GetBoolean());
        Assert.True(body.GetProperty("lowLatency").GetBoolean());
        Assert.True(body.GetProperty("realTime").GetBoolean());

        var flagsDefault = await CreateAsync("Plain");
        Assert.False(flagsDefault.GetProperty("requireSchedule").GetBoolean());
        Assert.False(flagsDefault.GetProperty("realTime").GetBoolean());
        Assert.False(flagsDefault.GetProperty("lowLatency").GetBoolean());
        // No rewind window asked for: written as null (the server's Packager:DvrSeconds), not left out.
        Assert.Equal(JsonValueKind.Null, flagsDefault.GetProperty("rewindSeconds").ValueKind);
        // No backup ingest server configured here: the field is left out.
        Assert.False(body.TryGetProperty("backupRtmpUrl", out _));
    }

    [Fact]
    public async Task Protection_is_none_by_default_set_on_create_and_update_and_refused_when_unknown()
    {
        Assert.Equal("none", (await CreateAsync("Clear")).GetProperty("protection").GetString());
        using var created = await PostJsonAsync("/api/channels", """{"name":"Paid Event","protection":"cbcs"}""");
        var body = await JsonAsync(created);
        Assert.Equal("cbcs", body.GetProperty("protection").GetString());
        string id = body.GetProperty("id").GetString()!;
        using var patched = await _client.PatchAsync($"/api/channels/{id}", new StringContent("""{"protection":"cenc"}""", Encoding.UTF8, "application/json"));
        Assert.Equal("cenc", (await JsonAsync(patched)).GetProperty("protection").GetString());
        using var renamed = await _client.PatchAsync($"/api/channels/{id}", new StringContent("""{"name":"Paid"}""", Encoding.UTF8, "application/json"));
        Assert.Equal("cenc", (await JsonAsync(renamed)).GetProperty("protection").GetString());
        // PUT: an omitted protection returns to none, as omitted flags return to false.
        using var put = await _client.PutAsync($"/api/channels/{id}", new StringContent("""{"name":"Paid"}""", Encoding.UTF8, "application/json"));
        Assert.Equal("none", (await JsonAsync(put)).GetProperty("protection").GetString());
        using var unknown = await PostJsonAsync("/api/channels", """{"name":"Bad","protection":"CBCS"}""");
        var problem = await AssertProblemAsync(unknown, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("protection", out _), problem.ToString());
        using var badPatch = await _client.PatchAsync($"/api/channels/{id}", new StringContent("""{"protection":"aes-256"}""", Encoding.UTF8, "application/json"));
        await AssertProblemAsync(badPatch, HttpStatusCode.BadRequest);
        // AES-128 HLS: set as the others are; it has no DASH form, so the channel names no DASH URL.
        using var whole = await _client.PatchAsync($"/api/channels/{id}", new StringContent("""{"protection":"aes-128"}""", Encoding.UTF8, "application/json"));
        var wholeBody = await JsonAsync(whole);
        Assert.Equal("aes-128", wholeBody.GetProperty("protection").GetString());
        Assert.False(wholeBody.TryGetProperty("dashUrl", out var dash) && dash.ValueKind != System.Text.Json.JsonValueKind.Null, wholeBody.ToString());
    }

    [Fact]
    public async Task Audio_track_names_are_set_shown_with_the_channel_and_refused_when_malformed()
    {
        var created = await CreateAsync("Two Languages");
        string id = created.GetProperty("id").GetString()!;
        Assert.False(created.TryGetProperty("audioTracks", out _));
        string path = $"/api/channels/{id}/audio-tracks";
        static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

        using var set = await _client.PutAsync(path, Json("""{"tracks":[{"language":"en"},{"language":"fra","purpose":"AudioDescription"}]}"""));
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        var tracks = (await JsonAsync(set)).GetProperty("audioTracks");
        Assert.Equal("""[{"language":"eng","purpose":"main"},{"language":"fra","purpose":"audioDescription"}]""", tracks.GetRawText());
        using var read = await _client.GetAsync($"/api/channels/{id}");
        Assert.Equal(tracks.GetRawText(), (await JsonAsync(read)).GetProperty("audioTracks").GetRawText());

        // Malformed: a 400 problem under "tracks", and the names stay.
        foreach (var (json, message) in new[]
        {
            ("""{"tracks":[{"language":"english"}]}""", "Track 1: language 'english' is not an ISO 639 code"),
            ("""{"tracks":[{"language":"en"},{"language":"fr","purpose":"commentary"}]}""", "Track 2: purpose 'commentary' is not one of"),
            ("""{"tracks":[null]}""", "A list of tracks is required."),
            ("""{}""", "A list of tracks is required."),
            ("""{"tracks":[{},{},{},{},{},{},{},{},{}]}""", "At most 8 audio tracks"),
        })
        {
            using var refused = await _client.PutAsync(path, Json(json));
            var problem = await AssertProblemAsync(refused, HttpStatusCode.BadRequest);
            Assert.StartsWith(message, problem.GetProperty("errors").GetProperty("tracks")[0].GetString(), StringComparison.Ordinal);
        }
        using var kept = await _client.GetAsync($"/api/channels/{id}");
        Assert.Equal(tracks.GetRawText(), (await JsonAsync(kept)).GetProperty("audioTracks").GetRawText());

        using var cleared = await _client.PutAsync(path, Json("""{"tracks":[]}"""));
        Assert.False((await JsonAsync(cleared)).TryGetProperty("audioTracks", out _));
        using var missing = await _client.PutAsync("/api/channels/nope/audio-tracks", Json("""{"tracks":[]}"""));
        await AssertProblemAsync(missing, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_configured_backup_ingest_server_is_named_beside_the_primary()
    {
        await using var host = await ControlApiHost.StartAsync(Token, new Dictionary<string, string?>
        {
            ["Public:RtmpBaseUrl"] = "rtmp://ingest-a.example.net/live",
            ["Public:BackupRtmpBaseUrl"] = "rtmp://ingest-b.example.net/live/",
        });
        using var response = await PostJsonAsync("/api/channels", JsonSerializer.Serialize(new { name = "Redundant" }), host.Client);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await JsonAsync(response);
        Assert.Equal("rtmp://ingest-a.example.net/live", body.GetProperty("rtmpUrl").GetString());
        Assert.Equal("rtmp://ingest-b.example.net/live", body.GetProperty("backupRtmpUrl").GetString());
    }

    [Theory]
    [InlineData("""{}""", "The name is required.")]
    [InlineData("""{"name":null}""", "The name is required.")]
    [InlineData("""{"name":""}""", "The name is required.")]
    [InlineData("""{"name":"   "}""", "The name is required.")]
    [InlineData("""{"name":"a\u0007b"}""", "The name must not contain control characters.")]
    public async Task Invalid_name_is_a_400_problem_naming_the_field(string json, string message)
    {
        using var response = await PostJsonAsync("/api/channels", json);
        var body = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(message, body.GetProperty("errors").GetProperty("name")[0].GetString());
    }

    [Fact]
    public async Task Name_length_is_checked_after_trimming()
    {
        using var ok = await PostJsonAsync("/api/channels", JsonSerializer.Serialize(new { name = "  " + new string('n', 100) + "  " }));
        Assert.Equal(HttpStatusCode.Created, ok.StatusCode);

        using var tooLong = await PostJsonAsync("/api/channels", JsonSerializer.Serialize(new { name = new string('n', 101) }));
        var body = await AssertProblemAsync(tooLong, HttpStatusCode.BadRequest);
        Assert.Equal("The name must be at most 100 characters.", body.GetProperty("errors").GetProperty("name")[0].GetString());
    }

    [Theory]
    [InlineData("""{"name":5}""", "name")]
    [InlineData("""{"name":"x","requireSchedule":"yes"}""", "requireSchedule")]
    [InlineData("""{"name":"x","lowLatency":1}""", "lowLatency")]
    public async Task Wrongly_typed_field_is_a_400_problem_naming_it(string json, string field)
    {
        using var response = await PostJsonAsync("/api/channels", json);
        var body = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(body.GetProperty("errors").TryGetProperty(field, out _), await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("""{"name":"x",}""")]
    [InlineData("not json")]
    [InlineData("null")]
    [InlineData("[1,2]")]
    public async Task Malformed_json_is_a_400_problem(string json)
    {
        using var response = await PostJsonAsync("/api/channels", json);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Empty(await (await _client.GetAsync("/api/channels")).Content.ReadFromJsonArrayAsync());
    }

    [Fact]
    public async Task Oversized_body_is_refused()
    {
        using var response = await PostJsonAsync("/api/channels", JsonSerializer.Serialize(new { name = "x", pad = new string('p', 20_000) }));
        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task List_masks_keys_and_get_adds_live_status()
    {
        var offAir = await CreateAsync("Studio B");
        var onAir = await CreateAsync("Live Desk");
        var key = offAir.GetProperty("streamKey").GetString()!;

        using var list = await _client.GetAsync("/api/channels");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var text = await list.Content.ReadAsStringAsync();
        Assert.DoesNotContain(key, text, StringComparison.Ordinal);
        Assert.DoesNotContain(onAir.GetProperty("streamKey").GetString()!, text, StringComparison.Ordinal);
        var items = JsonDocument.Parse(text).RootElement;
        Assert.Equal(2, items.GetArrayLength());
        Assert.Equal(StreamKeys.Mask(key), items[0].GetProperty("streamKey").GetString());
        Assert.False(items[0].TryGetProperty("live", out _));

        var offBody = await JsonAsync(await _client.GetAsync($"/api/channels/{offAir.GetProperty("id").GetString()}"));
        Assert.False(offBody.GetProperty("live").GetProperty("online").GetBoolean());
        Assert.Equal(StreamKeys.Mask(key), offBody.GetProperty("streamKey").GetString());
        var onBody = await JsonAsync(await _client.GetAsync($"/api/channels/{onAir.GetProperty("id").GetString()}"));
        Assert.True(onBody.GetProperty("live").GetProperty("online").GetBoolean());
        Assert.Equal(3, onBody.GetProperty("live").GetProperty("viewers").GetInt64());
    }

    [Fact]
    public async Task Rotate_reveal_revoke_and_delete_round_trip()
    {
        var created = await CreateAsync("Rotator");
        var id = created.GetProperty("id").GetString()!;
        var firstKey = created.GetProperty("streamKey").GetString()!;
        var service = _app.Services.GetRequiredService<ChannelService>();

        var revealed = await JsonAsync(await _client.PostAsync($"/api/channels/{id}/reveal-key", null));
        Assert.Equal(firstKey, revealed.GetProperty("streamKey").GetString());

        using var rotate = await _client.PostAsync($"/api/channels/{id}/rotate-key", null);
        Assert.Equal(HttpStatusCode.OK, rotate.StatusCode);
        var newKey = (await JsonAsync(rotate)).GetProperty("streamKey").GetString()!;
        Assert.NotEqual(firstKey, newKey);
        Assert.False((await service.FindByStreamKeyAsync(firstKey)).Found);
        Assert.True((await service.FindByStreamKeyAsync(newKey)).Found);
        Assert.Equal(newKey, (await JsonAsync(await _client.PostAsync($"/api/channels/{id}/reveal-key", null))).GetProperty("streamKey").GetString());

        var revoked = await JsonAsync(await _client.PostAsync($"/api/channels/{id}/revoke", null));
        Assert.True(revoked.GetProperty("revoked").GetBoolean());
        Assert.Equal(StreamKeyRejection.Revoked, (await service.FindByStreamKeyAsync(newKey)).Rejection);

        using var delete = await _client.DeleteAsync($"/api/channels/{id}");
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        await AssertProblemAsync(await _client.GetAsync($"/api/channels/{id}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Delete_is_refused_while_live_and_keeps_a_private_channel_whose_media_cannot_be_deleted()
    {
        // A live channel (the fake says so for slugs starting with "live"): 409, nothing deleted.
        var live = await CreateAsync("Live Keynote");
        string liveId = live.GetProperty("id").GetString()!;
        var refused = await AssertProblemAsync(await _client.DeleteAsync($"/api/channels/{liveId}"), HttpStatusCode.Conflict);
        Assert.Contains("End the broadcast first", refused.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync($"/api/channels/{liveId}")).StatusCode);

        // A store that fails: 503, the channel and its private flag stay; once the store answers, the delete goes through.
        await using var host = await ControlApiHost.StartAsync(Token, new Dictionary<string, string?>(),
            services => services.AddSingleton<IChannelMedia, FailingMedia>());
        using var created = await PostJsonAsync("/api/channels", JsonSerializer.Serialize(new { name = "Vault", privatePlayback = true }), host.Client);
        string id = (await JsonAsync(created)).GetProperty("id").GetString()!;
        var media = (FailingMedia)host.App.Services.GetRequiredService<IChannelMedia>();
        await AssertProblemAsync(await host.Client.DeleteAsync($"/api/channels/{id}"), HttpStatusCode.ServiceUnavailable);
        using (var kept = await host.Client.GetAsync($"/api/channels/{id}"))
        {
            Assert.Equal(HttpStatusCode.OK, kept.StatusCode);
            Assert.True((await JsonAsync(kept)).GetProperty("privatePlayback").GetBoolean());
        }

        media.Fail = false;
        using var deleted = await host.Client.DeleteAsync($"/api/channels/{id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(["vault"], media.Deleted);
    }

    /// <summary>A store that cannot be emptied until told otherwise.</summary>
    private sealed class FailingMedia : IChannelMedia
    {
        public bool Fail { get; set; } = true;

        public List<string> Deleted { get; } = [];

        public bool IsWriting(string slug) => false;

        public ValueTask<int> DeleteAllAsync(string slug, CancellationToken cancellationToken)
        {
            if (Fail) throw new IOException("the store is unreachable");
            Deleted.Add(slug);
            return ValueTask.FromResult(0);
        }
    }

    [Theory]
    [InlineData("GET", "/api/channels/unknown")]
    [InlineData("POST", "/api/channels/unknown/rotate-key")]
    [InlineData("POST", "/api/channels/unknown/reveal-key")]
    [InlineData("POST", "/api/channels/unknown/revoke")]
    [InlineData("DELETE", "/api/channels/unknown")]
    public async Task Unknown_id_is_a_404_problem(string method, string path)
    {
        using var response = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        await AssertProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong-token")]
    [InlineData("Bearer test-admin-token-0123456789abcde")]
    [InlineData("Bearer test-admin-token-0123456789abcdef0")]
    [InlineData("Bearer ")]
    [InlineData("Basic dGVzdC1hZG1pbi10b2tlbi0wMTIzNDU2Nzg5YWJjZGVm")]
    [InlineData("test-admin-token-0123456789abcdef")]
    public async Task Missing_or_wrong_credentials_get_401_with_a_bearer_challenge(string? authorization)
    {
        using var anonymous = new HttpClient { BaseAddress = _base };
        foreach (var (method, path) in new[] { ("GET", "/api/channels"), ("POST", "/api/channels"), ("GET", "/api/channels/x"),
                     ("POST", "/api/channels/x/rotate-key"), ("POST", "/api/channels/x/reveal-key"), ("DELETE", "/api/channels/x") })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (authorization is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", authorization);
            }

            if (method == "POST")
            {
                request.Content = new StringContent("""{"name":"sneaky"}""", Encoding.UTF8, "application/json");
            }

            using var response = await anonymous.SendAsync(request);
            await AssertProblemAsync(response, HttpStatusCode.Unauthorized);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        }

        Assert.Empty(await _app.Services.GetRequiredService<ChannelService>().ListAsync());
    }

    [Fact]
    public async Task Bearer_scheme_name_is_case_insensitive()
    {
        using var anonymous = new HttpClient { BaseAddress = _base };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/channels");
        request.Headers.TryAddWithoutValidation("Authorization", "bearer " + Token);
        using var response = await anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public void Public_rtmp_and_http_base_urls_override_the_request_host()
    {
        var settings = new ControlSettings { PublicRtmpBaseUrl = "rtmp://ingest.example.com/live/", PublicHttpBaseUrl = "https://cdn.example.com/" };
        var urls = new PublicUrls(settings);
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Request.Scheme = "http";
        context.Request.Host = new Microsoft.AspNetCore.Http.HostString("10.0.0.5", 8080);
        Assert.Equal("rtmp://ingest.example.com/live", urls.RtmpUrl(context.Request));
        Assert.Equal("https://cdn.example.com/live/news/master.m3u8", urls.HlsUrl(context.Request, "news"));
        Assert.Equal("https://cdn.example.com/live/news/manifest.mpd", urls.DashUrl(context.Request, "news"));

        var derived = new PublicUrls(new ControlSettings());
        Assert.Equal("rtmp://10.0.0.5:1935/live", derived.RtmpUrl(context.Request));
        Assert.Equal("http://10.0.0.5:8080/live/news/master.m3u8", derived.HlsUrl(context.Request, "news"));
    }

    [Fact]
    public void The_srt_url_carries_the_key_in_its_stream_id_and_is_absent_while_srt_is_off()
    {
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Request.Host = new Microsoft.AspNetCore.Http.HostString("10.0.0.5", 8080);
        Assert.Null(new PublicUrls(new ControlSettings()).SrtUrl(context.Request, "k1"));
        Assert.Equal("srt://10.0.0.5:9710?streamid=#!::r=live/k1,m=publish",
            new PublicUrls(new ControlSettings { SrtPort = 9710 }).SrtUrl(context.Request, "k1"));
        Assert.Equal("srt://ingest.example.com:4000?streamid=#!::r=live/k1,m=publish",
            new PublicUrls(new ControlSettings { SrtPort = 9710, PublicSrtBaseUrl = "srt://ingest.example.com:4000/" }).SrtUrl(context.Request, "k1"));
    }
}

internal static class HttpContentExtensions
{
    public static async Task<IEnumerable<JsonElement>> ReadFromJsonArrayAsync(this HttpContent content)
        => JsonDocument.Parse(await content.ReadAsStringAsync()).RootElement.EnumerateArray().ToList();
}
