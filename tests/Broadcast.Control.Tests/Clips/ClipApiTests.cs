using System.Net;
using System.Text;
using System.Text.Json;
using Broadcast.Control.Clips;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Tests.Clips;

/// <summary><c>/api/channels/{id}/clips</c> on a real Kestrel over SQLite, with the store stood in for.</summary>
public sealed class ClipApiTests : IAsyncLifetime
{
    private const string Token = "test-admin-token-clips-0123456789ab";
    private readonly FakeClipMedia _media = new();
    private ControlApiHost _host = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _host = await ControlApiHost.StartAsync(Token, new Dictionary<string, string?> { ["Clips:MaxSeconds"] = "60" },
            services => services.AddSingleton<IClipMedia>(_media));
        _client = _host.Client;
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Create_list_rename_and_delete_with_the_playback_url()
    {
        var (channelId, slug) = await CreateChannelAsync("clips-crud");
        using var created = await PostAsync($"/api/channels/{channelId}/clips",
            """{"from":"2026-11-21T05:45:17Z","to":"2026-11-21T05:45:23Z","title":"The goal"}""");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await JsonAsync(created);
        string id = body.GetProperty("id").GetString()!;
        Assert.Equal($"/api/channels/{channelId}/clips/{id}", created.Headers.Location?.OriginalString);
        Assert.Equal("The goal", body.GetProperty("title").GetString());
        Assert.Equal("20261121T054512Z", body.GetProperty("broadcastId").GetString());
        Assert.Equal(8000, body.GetProperty("durationMs").GetInt64());
        Assert.Equal(new Uri(_host.BaseAddress, $"/live/{slug}/clips/{id}/master.m3u8").ToString(), body.GetProperty("hlsUrl").GetString());
        var asked = Assert.Single(_media.Written);
        Assert.Equal((slug, id, (string?)null), (asked.ChannelSlug, asked.ClipId, asked.RecordingBroadcastId));
        Assert.Equal(TimeSpan.FromSeconds(60), asked.MaxLength);

        var list = await JsonAsync(await _client.GetAsync($"/api/channels/{channelId}/clips"));
        Assert.Equal([id], list.EnumerateArray().Select(c => c.GetProperty("id").GetString()));
        var one = await JsonAsync(await _client.GetAsync($"/api/channels/{channelId}/clips/{id}"));
        Assert.Equal("The goal", one.GetProperty("title").GetString());

        using var renamed = await _client.PatchAsync($"/api/channels/{channelId}/clips/{id}", Json("""{"title":"Best goal"}"""));
        Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);
        Assert.Equal("Best goal", (await JsonAsync(renamed)).GetProperty("title").GetString());
        using var blank = await _client.PatchAsync($"/api/channels/{channelId}/clips/{id}", Json("""{"title":"  "}"""));
        Assert.Equal(HttpStatusCode.BadRequest, blank.StatusCode);
        Assert.True((await JsonAsync(blank)).GetProperty("errors").TryGetProperty("title", out _));

        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync($"/api/channels/{channelId}/clips/{id}")).StatusCode);
        Assert.Equal([(slug, id, true)], _media.Deleted);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.DeleteAsync($"/api/channels/{channelId}/clips/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/api/channels/{channelId}/clips/{id}")).StatusCode);
    }

    [Fact]
    public async Task Offsets_from_the_live_edge_reach_the_store_as_offsets()
    {
        var (channelId, _) = await CreateChannelAsync("clips-offsets");
        using var created = await PostAsync($"/api/channels/{channelId}/clips", """{"from":-30,"to":-22.5}""");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("Clip", (await JsonAsync(created)).GetProperty("title").GetString());
        var asked = Assert.Single(_media.Written);
        Assert.Equal(ClipPoint.FromEnd(-30), asked.From);
        Assert.Equal(ClipPoint.FromEnd(-22.5), asked.To);
    }

    [Theory]
    [InlineData("""{"to":"2026-11-21T05:45:23Z"}""", "from", "Required")]
    [InlineData("""{"from":"2026-11-21T05:45:23Z"}""", "to", "Required")]
    [InlineData("""{"from":"yesterday","to":"2026-11-21T05:45:23Z"}""", "from", "its zone")]
    [InlineData("""{"from":"2026-13-45T00:00:00Z","to":"2026-11-21T05:45:23Z"}""", "from", "ISO 8601")]
    [InlineData("""{"from":"2026-11-21T05:45:17+02:00","to":"2026-11-21T05:45:23Z"}""", "from", "UTC")]
    [InlineData("""{"from":true,"to":"2026-11-21T05:45:23Z"}""", "from", "seconds from the end")]
    [InlineData("""{"from":"2026-11-21T05:45:23Z","to":"2026-11-21T05:45:17Z"}""", "to", "after 'from'")]
    [InlineData("""{"from":-10,"to":-20}""", "to", "after 'from'")]
    [InlineData("""{"from":"2026-11-21T05:40:00Z","to":"2026-11-21T05:45:00Z"}""", "to", "at most 60 seconds")]
    [InlineData("""{"from":-10,"to":5}""", "to", "0 or less")]
    [InlineData("""{"from":-10,"to":0,"title":""}""", "title", "required")]
    [InlineData("""{"from":-10,"to":0,"recordingId":"nope"}""", "recordingId", "no recording")]
    public async Task Bad_input_is_refused_naming_the_field_and_nothing_is_written(string json, string field, string message)
    {
        var (channelId, _) = await CreateChannelAsync("clips-invalid-" + Guid.NewGuid().ToString("N")[..8]);
        using var response = await PostAsync($"/api/channels/{channelId}/clips", json);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await JsonAsync(response)).GetProperty("errors");
        Assert.Contains(message, errors.GetProperty(field)[0].GetString(), StringComparison.Ordinal);
        Assert.Empty(_media.Written);
        Assert.Empty((await JsonAsync(await _client.GetAsync($"/api/channels/{channelId}/clips"))).EnumerateArray());
    }

    [Fact]
    public async Task A_range_the_store_does_not_hold_is_a_conflict_naming_the_field()
    {
        var (channelId, _) = await CreateChannelAsync("clips-conflict");
        _media.Refusal = new ClipRangeException("from", "'from' is before the oldest stored media.", conflict: true);
        using var response = await PostAsync($"/api/channels/{channelId}/clips", """{"from":-3000,"to":-2990}""");
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var body = await JsonAsync(response);
        Assert.Equal("from", body.GetProperty("field").GetString());
        Assert.Contains("oldest stored media", body.GetProperty("detail").GetString(), StringComparison.Ordinal);

        _media.Refusal = new ClipRangeException("to", "'to' must be after 'from'.", conflict: false);
        using var reversed = await PostAsync($"/api/channels/{channelId}/clips", """{"from":-10,"to":"2026-11-21T05:45:23Z"}""");
        Assert.Equal(HttpStatusCode.BadRequest, reversed.StatusCode);
        Assert.True((await JsonAsync(reversed)).GetProperty("errors").TryGetProperty("to", out _));
        Assert.Empty((await JsonAsync(await _client.GetAsync($"/api/channels/{channelId}/clips"))).EnumerateArray());
    }

    [Fact]
    public async Task Unknown_channels_and_clips_are_404_and_the_api_needs_an_admin()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync("/api/channels/nope/clips", """{"from":-10,"to":0}""")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/api/channels/nope/clips")).StatusCode);
        var (channelId, _) = await CreateChannelAsync("clips-404");
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/api/channels/{channelId}/clips/nope")).StatusCode);
        using var patch = await _client.PatchAsync($"/api/channels/{channelId}/clips/nope", Json("""{"title":"x"}"""));
        Assert.Equal(HttpStatusCode.NotFound, patch.StatusCode);
        using var anonymous = new HttpClient { BaseAddress = _host.BaseAddress };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/api/channels/{channelId}/clips")).StatusCode);
    }

    [Fact]
    public async Task The_download_is_a_conflict_until_made_then_an_mp4_attachment_named_after_the_title_with_ranges()
    {
        var (channelId, _) = await CreateChannelAsync("clips-download");
        using var created = await PostAsync($"/api/channels/{channelId}/clips", """{"from":-10,"to":-2,"title":"Tor! Müller 2:1"}""");
        var body = await JsonAsync(created);
        string id = body.GetProperty("id").GetString()!;
        Assert.False(body.TryGetProperty("downloadUrl", out _));
        using var early = await _client.GetAsync($"/api/channels/{channelId}/clips/{id}/download");
        Assert.Equal(HttpStatusCode.Conflict, early.StatusCode);
        Assert.Contains("not made yet", await early.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The server's finisher stores the MP4, then records its size on the row.
        byte[] mp4 = Enumerable.Range(0, 5000).Select(i => (byte)i).ToArray();
        _media.Downloads[id] = mp4;
        Assert.True(await _host.App.Services.GetRequiredService<IClipRepository>().SetDownloadAsync(id, mp4.Length));
        var one = await JsonAsync(await _client.GetAsync($"/api/channels/{channelId}/clips/{id}"));
        Assert.Equal(new Uri(_host.BaseAddress, $"/api/channels/{channelId}/clips/{id}/download").ToString(), one.GetProperty("downloadUrl").GetString());
        Assert.Equal(5000, one.GetProperty("downloadBytes").GetInt64());

        using var download = await _client.GetAsync($"/api/channels/{channelId}/clips/{id}/download");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal("video/mp4", download.Content.Headers.ContentType?.MediaType);
        Assert.Equal("attachment", download.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal("Tor_ Müller 2_1.mp4", download.Content.Headers.ContentDisposition?.FileNameStar);
        Assert.Equal(mp4, await download.Content.ReadAsByteArrayAsync());
        using var range = new HttpRequestMessage(HttpMethod.Get, $"/api/channels/{channelId}/clips/{id}/download");
        range.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(100, 199);
        using var part = await _client.SendAsync(range);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(mp4[100..200], await part.Content.ReadAsByteArrayAsync());

        // Recorded but gone from the store: not found, saying what.
        _media.Downloads.TryRemove(id, out _);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/api/channels/{channelId}/clips/{id}/download")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/api/channels/{channelId}/clips/nope/download")).StatusCode);
        using var anonymous = new HttpClient { BaseAddress = _host.BaseAddress };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/api/channels/{channelId}/clips/{id}/download")).StatusCode);
    }

    [Theory]
    [InlineData("The goal", "The goal.mp4")]
    [InlineData("../../etc/passwd", "_.._etc_passwd.mp4")]
    [InlineData("...", "clip.mp4")]
    [InlineData("a\"b;c", "a_b_c.mp4")]
    public void The_download_name_keeps_only_safe_characters(string title, string name) =>
        Assert.Equal(name, Broadcast.Control.Api.ClipEndpoints.DownloadName(title));

    [Fact]
    public async Task A_body_over_the_limit_is_refused()
    {
        var (channelId, _) = await CreateChannelAsync("clips-large");
        using var response = await PostAsync($"/api/channels/{channelId}/clips", $$"""{"from":-10,"to":0,"title":"{{new string('a', 20_000)}}"}""");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    private async Task<(string Id, string Slug)> CreateChannelAsync(string name)
    {
        using var response = await PostAsync("/api/channels", JsonSerializer.Serialize(new { name }));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await JsonAsync(response);
        return (body.GetProperty("id").GetString()!, body.GetProperty("slug").GetString()!);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private Task<HttpResponseMessage> PostAsync(string path, string json) => _client.PostAsync(path, Json(json));

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
}
