using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Broadcast.Control.Api;
using Broadcast.Control.Users;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Tests;

/// <summary>Events, recordings, channel updates, sign-in and the OpenAPI document on a real Kestrel over SQLite.</summary>
public sealed class EventApiTests : IAsyncLifetime
{
    private const string Token = "test-admin-token-events-0123456789";
    private ControlApiHost _host = null!;
    private WebApplication _app = null!;
    private HttpClient _client = null!;
    private Uri _base = null!;

    public async Task InitializeAsync()
    {
        _host = await ControlApiHost.StartAsync(Token, new Dictionary<string, string?>
        {
            ["Admin:SignInPermitsPerMinute"] = "6",
            // PBKDF2 at the production 600k iterations costs ~1 s per hash here; the hashing itself is tested in the store contract.
            ["Admin:PasswordHashIterations"] = "1000",
            ["Events:PublishLeadSeconds"] = "0",
        });
        _app = _host.App;
        _client = _host.Client;
        _base = _host.BaseAddress;
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static readonly DateTimeOffset Start = new DateTimeOffset(DateTime.UtcNow.Date, TimeSpan.Zero).AddDays(2).AddHours(14);

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> BodyAsync(HttpResponseMessage response) => JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    private async Task<string> ChannelAsync(string name = "Main stage")
    {
        using var response = await _client.PostAsync("/api/channels", Json(JsonSerializer.Serialize(new { name, requireSchedule = true })));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await BodyAsync(response)).GetProperty("id").GetString()!;
    }

    private async Task<JsonElement> CreateEventAsync(string channelId, DateTimeOffset start, DateTimeOffset end, string title = "Keynote")
    {
        using var response = await _client.PostAsync("/api/events", Json(JsonSerializer.Serialize(new
        {
            channelId, title, startsAt = Iso(start), endsAt = Iso(end), record = true, description = "Opening",
        })));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await BodyAsync(response);
    }

    private static async Task<string> AssertFieldProblemAsync(HttpResponseMessage response, string field)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = (await BodyAsync(response)).GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out var messages), $"expected an error for '{field}', got {errors}");
        return messages[0].GetString()!;
    }

    [Fact]
    public async Task Create_returns_201_with_the_event_and_get_and_list_find_it()
    {
        var channel = await ChannelAsync();
        var created = await CreateEventAsync(channel, Start, Start.AddHours(1));
        var id = created.GetProperty("id").GetString()!;
        Assert.Equal(("Keynote", "Opening", "scheduled", true), (created.GetProperty("title").GetString(), created.GetProperty("description").GetString(),
            created.GetProperty("state").GetString(), created.GetProperty("record").GetBoolean()));
        Assert.Equal(Start, created.GetProperty("startsAt").GetDateTimeOffset());
        Assert.Equal(Start, created.GetProperty("opensAt").GetDateTimeOffset()); // lead 0 in this test

        using var get = await _client.GetAsync($"/api/events/{id}");
        Assert.Equal(id, (await BodyAsync(get)).GetProperty("id").GetString());
        using var list = await _client.GetAsync($"/api/events?channelId={channel}&from={Iso(Start.AddMinutes(30))}&to={Iso(Start.AddDays(1))}");
        Assert.Equal(id, Assert.Single((await BodyAsync(list)).EnumerateArray()).GetProperty("id").GetString());
        using var none = await _client.GetAsync($"/api/events?channelId={channel}&from={Iso(Start.AddHours(1))}");
        Assert.Empty((await BodyAsync(none)).EnumerateArray());
    }

    public static TheoryData<string, string> InvalidEvents()
    {
        string s = Iso(Start), e = Iso(Start.AddHours(1));
        return new TheoryData<string, string>
        {
            { $$"""{"title":"T","startsAt":"{{s}}","endsAt":"{{e}}"}""", "channelId" },
            { $$"""{"channelId":"CH","startsAt":"{{s}}","endsAt":"{{e}}"}""", "title" },
            { $$"""{"channelId":"CH","title":"  ","startsAt":"{{s}}","endsAt":"{{e}}"}""", "title" },
            { $$"""{"channelId":"CH","title":"{{new string('x', 201)}}","startsAt":"{{s}}","endsAt":"{{e}}"}""", "title" },
            { $$"""{"channelId":"CH","title":"T","description":"{{new string('x', 4001)}}","startsAt":"{{s}}","endsAt":"{{e}}"}""", "description" },
            { $$"""{"channelId":"CH","title":"T","endsAt":"{{e}}"}""", "startsAt" },
            { $$"""{"channelId":"CH","title":"T","startsAt":"{{s}}"}""", "endsAt" },
            { $$"""{"channelId":"CH","title":"T","startsAt":"{{e}}","endsAt":"{{s}}"}""", "endsAt" },
            { $$"""{"channelId":"CH","title":"T","startsAt":"{{s}}","endsAt":"{{s}}"}""", "endsAt" },
            { $$"""{"channelId":"CH","title":"T","startsAt":"2020-01-01T10:00:00Z","endsAt":"2020-01-01T11:00:00Z"}""", "endsAt" },
            { $$"""{"channelId":"CH","title":"T","startsAt":"{{s}}","endsAt":"{{Iso(Start.AddDays(8))}}"}""", "endsAt" },
            { $$"""{"channelId":"CH","title":"T","startsAt":"{{s[..^1]}}+02:00","endsAt":"{{e}}"}""", "startsAt" },
            { $$"""{"channelId":"CH","title":"T","startsAt":"{{s[..^1]}}","endsAt":"{{e}}"}""", "startsAt" },
            { $$"""{"channelId":"CH","title":"T","startsAt":"tomorrow Z","endsAt":"{{e}}"}""", "startsAt" },
            { $$"""{"channelId":"CH","title":"T","startsAt":"{{s}}","endsAt":"{{e[..^1]}}-05:00"}""", "endsAt" },
            { $$"""{"channelId":"CH","title":"T","startsAt":12345,"endsAt":"{{e}}"}""", "startsAt" },
            { $$"""{"channelId":"CH","title":"T","startsAt":"{{s}}","endsAt":"{{e}}","record":"yes"}""", "record" },
            { $$"""{"channelId":"nope","title":"T","startsAt":"{{s}}","endsAt":"{{e}}"}""", "channelId" },
        };
    }

    [Theory]
    [MemberData(nameof(InvalidEvents))]
    public async Task Invalid_event_is_a_400_problem_naming_the_field_and_saves_nothing(string json, string field)
    {
        var channel = await ChannelAsync();
        using var response = await _client.PostAsync("/api/events", Json(json.Replace("\"CH\"", $"\"{channel}\"", StringComparison.Ordinal)));
        await AssertFieldProblemAsync(response, field);
        using var list = await _client.GetAsync("/api/events");
        Assert.Empty((await BodyAsync(list)).EnumerateArray());
    }

    [Fact]
    public async Task Utc_offset_zero_is_accepted_and_normalised_to_Z()
    {
        var channel = await ChannelAsync();
        using var response = await _client.PostAsync("/api/events", Json($$"""
            {"channelId":"{{channel}}","title":"T","startsAt":"{{Iso(Start)[..^1]}}+00:00","endsAt":"{{Iso(Start.AddHours(1))[..^1]}}.250Z"}
            """));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains($"\"startsAt\":\"{Start.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss}+00:00\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Overlapping_event_is_a_400_naming_startsAt_and_the_other_event()
    {
        var channel = await ChannelAsync();
        await CreateEventAsync(channel, Start, Start.AddHours(1), "Keynote");
        using var response = await _client.PostAsync("/api/events", Json(JsonSerializer.Serialize(new
        {
            channelId = channel, title = "Panel", startsAt = Iso(Start.AddMinutes(59)), endsAt = Iso(Start.AddHours(2)),
        })));
        Assert.Contains("'Keynote'", await AssertFieldProblemAsync(response, "startsAt"), StringComparison.Ordinal);
        // Back to back is fine; another channel at the same time is fine.
        await CreateEventAsync(channel, Start.AddHours(1), Start.AddHours(2), "Panel");
        await CreateEventAsync(await ChannelAsync("Second stage"), Start, Start.AddHours(1));
    }

    [Fact]
    public async Task Put_patch_cancel_end_and_delete_follow_the_state_machine()
    {
        var channel = await ChannelAsync();
        var id = (await CreateEventAsync(channel, Start, Start.AddHours(1))).GetProperty("id").GetString()!;

        using (var patch = await _client.PatchAsync($"/api/events/{id}", Json("""{"title":"Renamed"}""")))
        {
            var body = await BodyAsync(patch);
            Assert.Equal(("Renamed", "Opening"), (body.GetProperty("title").GetString(), body.GetProperty("description").GetString()));
        }

        using (var badPatch = await _client.PatchAsync($"/api/events/{id}", Json($$"""{"endsAt":"{{Iso(Start.AddHours(-1))}}"}""")))
            await AssertFieldProblemAsync(badPatch, "endsAt");
        using (var putMissing = await _client.PutAsync($"/api/events/{id}", Json($$"""{"startsAt":"{{Iso(Start)}}","endsAt":"{{Iso(Start.AddHours(2))}}"}""")))
            await AssertFieldProblemAsync(putMissing, "title");
        using (var put = await _client.PutAsync($"/api/events/{id}", Json($$"""{"title":"Full","startsAt":"{{Iso(Start)}}","endsAt":"{{Iso(Start.AddHours(2))}}"}""")))
        {
            var body = await BodyAsync(put);
            Assert.Equal(("Full", "", false), (body.GetProperty("title").GetString(), body.GetProperty("description").GetString(), body.GetProperty("record").GetBoolean()));
        }

        using (var cancel = await _client.PostAsync($"/api/events/{id}/cancel", null))
            Assert.Equal("cancelled", (await BodyAsync(cancel)).GetProperty("state").GetString());
        using (var again = await _client.PostAsync($"/api/events/{id}/cancel", null))
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        using (var patchCancelled = await _client.PatchAsync($"/api/events/{id}", Json("""{"title":"x"}""")))
            Assert.Equal(HttpStatusCode.Conflict, patchCancelled.StatusCode);
        // The cancelled event no longer holds its slot.
        var next = (await CreateEventAsync(channel, Start, Start.AddHours(1))).GetProperty("id").GetString()!;
        using (var end = await _client.PostAsync($"/api/events/{next}/end", null))
            Assert.Equal("ended", (await BodyAsync(end)).GetProperty("state").GetString());

        using (var delete = await _client.DeleteAsync($"/api/events/{id}"))
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        foreach (var path in new[] { $"/api/events/{id}", "/api/recordings/nope" })
        {
            using var missing = await _client.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }
    }

    [Fact]
    public async Task List_filters_are_validated()
    {
        using (var bad = await _client.GetAsync("/api/events?from=yesterday"))
            await AssertFieldProblemAsync(bad, "from");
        using (var reversed = await _client.GetAsync($"/api/events?from={Iso(Start)}&to={Iso(Start.AddHours(-1))}"))
            await AssertFieldProblemAsync(reversed, "to");
    }

    [Fact]
    public async Task Channel_patch_and_put_change_name_and_flags_but_not_the_slug()
    {
        var id = await ChannelAsync("Studio");
        using (var patch = await _client.PatchAsync($"/api/channels/{id}", Json("""{"lowLatency":true}""")))
        {
            var body = await BodyAsync(patch);
            Assert.Equal(("Studio", "studio", true, true), (body.GetProperty("name").GetString(), body.GetProperty("slug").GetString(),
                body.GetProperty("requireSchedule").GetBoolean(), body.GetProperty("lowLatency").GetBoolean()));
        }

        using (var put = await _client.PutAsync($"/api/channels/{id}", Json("""{"name":"Studio B"}""")))
        {
            var body = await BodyAsync(put);
            Assert.Equal(("Studio B", "studio", false, false), (body.GetProperty("name").GetString(), body.GetProperty("slug").GetString(),
                body.GetProperty("requireSchedule").GetBoolean(), body.GetProperty("lowLatency").GetBoolean()));
        }

        // The real-time watch page: PATCH turns it on and leaves the rest, PUT without it turns it off.
        using (var patch = await _client.PatchAsync($"/api/channels/{id}", Json("""{"realTime":true}""")))
        {
            var body = await BodyAsync(patch);
            Assert.Equal(("Studio B", true), (body.GetProperty("name").GetString(), body.GetProperty("realTime").GetBoolean()));
            // Where a WHEP player plays it, on the same base as its HLS.
            string hls = body.GetProperty("hlsUrl").GetString()!;
            Assert.Equal(hls.Replace("/master.m3u8", "/whep", StringComparison.Ordinal), body.GetProperty("whepUrl").GetString());
        }

        using (var put = await _client.PutAsync($"/api/channels/{id}", Json("""{"name":"Studio B"}""")))
            Assert.False((await BodyAsync(put)).GetProperty("realTime").GetBoolean());
        using (var wrongType = await _client.PatchAsync($"/api/channels/{id}", Json("""{"realTime":"yes"}""")))
            await AssertFieldProblemAsync(wrongType, "realTime");

        using (var putNoName = await _client.PutAsync($"/api/channels/{id}", Json("""{"lowLatency":true}""")))
            await AssertFieldProblemAsync(putNoName, "name");
        using (var emptyName = await _client.PatchAsync($"/api/channels/{id}", Json("""{"name":" "}""")))
            await AssertFieldProblemAsync(emptyName, "name");
        using (var wrongType = await _client.PatchAsync($"/api/channels/{id}", Json("""{"requireSchedule":"yes"}""")))
            await AssertFieldProblemAsync(wrongType, "requireSchedule");
        using (var missing = await _client.PatchAsync("/api/channels/nope", Json("""{"name":"x"}""")))
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Channel_rewind_window_is_set_on_create_kept_by_patch_and_reset_by_put()
    {
        static int? Rewind(JsonElement body)
            => body.GetProperty("rewindSeconds") is { ValueKind: JsonValueKind.Number } n ? n.GetInt32() : null;

        string id;
        using (var create = await _client.PostAsync("/api/channels", Json("""{"name":"Marathon","rewindSeconds":1800}""")))
        {
            Assert.Equal(HttpStatusCode.Created, create.StatusCode);
            var body = await BodyAsync(create);
            id = body.GetProperty("id").GetString()!;
            Assert.Equal(1800, Rewind(body));
        }

        using (var get = await _client.GetAsync($"/api/channels/{id}"))
            Assert.Equal(1800, Rewind(await BodyAsync(get)));

        // PATCH without it keeps it; with it, changes it; with null, returns it to the server's.
        using (var patch = await _client.PatchAsync($"/api/channels/{id}", Json("""{"lowLatency":true}""")))
            Assert.Equal(1800, Rewind(await BodyAsync(patch)));
        using (var patch = await _client.PatchAsync($"/api/channels/{id}", Json("""{"rewindSeconds":0}""")))
            Assert.Equal(0, Rewind(await BodyAsync(patch)));
        using (var patch = await _client.PatchAsync($"/api/channels/{id}", Json("""{"rewindSeconds":null}""")))
        {
            // Written as null, not left out: null means the server's Packager:DvrSeconds.
            var body = await BodyAsync(patch);
            Assert.Equal(JsonValueKind.Null, body.GetProperty("rewindSeconds").ValueKind);
        }

        // PUT sets what it names and returns what it leaves out to the default, like the flags.
        using (var put = await _client.PutAsync($"/api/channels/{id}", Json("""{"name":"Marathon","rewindSeconds":86400}""")))
            Assert.Equal(86400, Rewind(await BodyAsync(put)));
        using (var put = await _client.PutAsync($"/api/channels/{id}", Json("""{"name":"Marathon"}""")))
            Assert.Null(Rewind(await BodyAsync(put)));

        // Outside 0..86400, or not a whole number: 400 naming the field, and nothing changes.
        using (var patch = await _client.PatchAsync($"/api/channels/{id}", Json("""{"rewindSeconds":3600}""")))
            Assert.Equal(3600, Rewind(await BodyAsync(patch)));
        foreach (var bad in new[] { "-1", "86401", "\"half an hour\"", "1.5", "true", "[]" })
        {
            using (var patch = await _client.PatchAsync($"/api/channels/{id}", Json($$"""{"name":"Renamed","rewindSeconds":{{bad}}}""")))
                await AssertFieldProblemAsync(patch, "rewindSeconds");
            using (var put = await _client.PutAsync($"/api/channels/{id}", Json($$"""{"name":"Renamed","rewindSeconds":{{bad}}}""")))
                await AssertFieldProblemAsync(put, "rewindSeconds");
            using (var create = await _client.PostAsync("/api/channels", Json($$"""{"name":"Another","rewindSeconds":{{bad}}}""")))
                await AssertFieldProblemAsync(create, "rewindSeconds");
        }

        using (var range = await _client.PatchAsync($"/api/channels/{id}", Json("""{"rewindSeconds":-1}""")))
            Assert.Contains("between 0", await AssertFieldProblemAsync(range, "rewindSeconds"), StringComparison.Ordinal);
        using (var get = await _client.GetAsync($"/api/channels/{id}"))
        {
            var body = await BodyAsync(get);
            Assert.Equal(("Marathon", 3600), (body.GetProperty("name").GetString(), Rewind(body)));
        }

        using (var list = await _client.GetAsync("/api/channels"))
        {
            var rows = (await BodyAsync(list)).EnumerateArray().ToList();
            Assert.Equal(3600, Rewind(rows.Single(r => r.GetProperty("id").GetString() == id)));
        }
    }

    [Theory]
    [InlineData("GET", "/api/events")]
    [InlineData("POST", "/api/events")]
    [InlineData("GET", "/api/events/x")]
    [InlineData("PUT", "/api/events/x")]
    [InlineData("PATCH", "/api/events/x")]
    [InlineData("POST", "/api/events/x/cancel")]
    [InlineData("POST", "/api/events/x/end")]
    [InlineData("DELETE", "/api/events/x")]
    [InlineData("GET", "/api/recordings")]
    [InlineData("GET", "/api/recordings/x")]
    [InlineData("DELETE", "/api/recordings/x")]
    [InlineData("PATCH", "/api/channels/x")]
    [InlineData("PUT", "/api/channels/x")]
    [InlineData("GET", "/api/session")]
    [InlineData("DELETE", "/api/session")]
    public async Task Every_route_is_401_without_credentials(string method, string path)
    {
        using var anonymous = new HttpClient { BaseAddress = _base };
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = method is "GET" or "DELETE" ? null : Json("{}") };
        using var response = await anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task First_admin_signs_in_with_a_cookie_that_needs_the_antiforgery_header_for_writes()
    {
        var credentials = _app.Services.GetRequiredService<FirstAdminCredentials>();
        var password = credentials.TakePassword()!;
        Assert.Equal("admin", credentials.Name);
        using var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true };
        using var browser = new HttpClient(handler) { BaseAddress = _base };

        using (var wrong = await browser.PostAsync("/api/session", Json("""{"name":"admin","password":"wrong-password"}""")))
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        using var signIn = await browser.PostAsync("/api/session", Json(JsonSerializer.Serialize(new { name = "admin", password })));
        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        var session = await BodyAsync(signIn);
        Assert.Equal("admin", session.GetProperty("name").GetString());
        var csrf = session.GetProperty("antiforgeryToken").GetString()!;
        var cookie = Assert.Single(signIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith("broadcast.session=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);

        using (var read = await browser.GetAsync("/api/events"))
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        using (var noToken = await browser.PostAsync("/api/channels", Json("""{"name":"Via cookie"}""")))
            Assert.Equal(HttpStatusCode.BadRequest, noToken.StatusCode);
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/api/channels") { Content = Json("""{"name":"Via cookie"}""") })
        {
            request.Headers.Add("X-CSRF-TOKEN", csrf);
            using var withToken = await browser.SendAsync(request);
            Assert.Equal(HttpStatusCode.Created, withToken.StatusCode);
        }

        using (var request = new HttpRequestMessage(HttpMethod.Post, "/api/session/password") { Content = Json("""{"currentPassword":"wrong","newPassword":"a-new-long-password"}""") })
        {
            request.Headers.Add("X-CSRF-TOKEN", csrf);
            using var wrongCurrent = await browser.SendAsync(request);
            await AssertFieldProblemAsync(wrongCurrent, "currentPassword");
        }

        using (var request = new HttpRequestMessage(HttpMethod.Post, "/api/session/password")
               { Content = Json(JsonSerializer.Serialize(new { currentPassword = password, newPassword = "a-new-long-password" })) })
        {
            request.Headers.Add("X-CSRF-TOKEN", csrf);
            using var changed = await browser.SendAsync(request);
            Assert.Equal(HttpStatusCode.NoContent, changed.StatusCode);
        }

        // Signing out is a state change too: a forged DELETE (no token) does not sign the admin out.
        using (var forged = await browser.DeleteAsync("/api/session"))
            Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        using (var signOut = new HttpRequestMessage(HttpMethod.Delete, "/api/session"))
        {
            signOut.Headers.Add("X-CSRF-TOKEN", csrf);
            using var ended = await browser.SendAsync(signOut);
            Assert.Equal(HttpStatusCode.NoContent, ended.StatusCode);
        }

        using (var after = await browser.GetAsync("/api/events"))
            Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        using (var oldPassword = await browser.PostAsync("/api/session", Json(JsonSerializer.Serialize(new { name = "admin", password }))))
            Assert.Equal(HttpStatusCode.Unauthorized, oldPassword.StatusCode);
        using (var newPassword = await browser.PostAsync("/api/session", Json("""{"name":"admin","password":"a-new-long-password"}""")))
            Assert.Equal(HttpStatusCode.OK, newPassword.StatusCode);
    }

    [Fact]
    public async Task Sign_in_is_rate_limited_per_address()
    {
        using var anonymous = new HttpClient { BaseAddress = _base };
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 7; i++)
        {
            using var response = await anonymous.PostAsync("/api/session", Json("""{"name":"admin","password":"guess-guess-guess"}"""));
            statuses.Add(response.StatusCode);
        }

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.Unauthorized, 6), HttpStatusCode.TooManyRequests], statuses);
    }

    [Fact]
    public async Task Form_sign_in_without_antiforgery_token_is_refused()
    {
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = _base };
        using var response = await anonymous.PostAsync("/account/sign-in",
            new FormUrlEncodedContent(new Dictionary<string, string> { ["name"] = "admin", ["password"] = "x" }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Form_sign_in_with_the_antiforgery_token_sets_the_session_and_redirects_locally()
    {
        var password = _app.Services.GetRequiredService<FirstAdminCredentials>().TakePassword()!;
        using var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true, AllowAutoRedirect = false };
        using var browser = new HttpClient(handler) { BaseAddress = _base };
        var antiforgery = await BodyAsync(await browser.GetAsync("/account/antiforgery"));
        var field = antiforgery.GetProperty("formFieldName").GetString()!;
        var token = antiforgery.GetProperty("token").GetString()!;

        using (var wrong = await browser.PostAsync("/account/sign-in", new FormUrlEncodedContent(new Dictionary<string, string>
               { ["name"] = "admin", ["password"] = "nope", [field] = token, ["returnUrl"] = "/channels" })))
        {
            Assert.Equal(HttpStatusCode.Redirect, wrong.StatusCode);
            Assert.StartsWith("/sign-in?error=invalid", wrong.Headers.Location!.OriginalString, StringComparison.Ordinal);
        }

        // An absolute returnUrl (open redirect) is replaced by "/".
        using var ok = await browser.PostAsync("/account/sign-in", new FormUrlEncodedContent(new Dictionary<string, string>
            { ["name"] = "admin", ["password"] = password, [field] = token, ["returnUrl"] = "https://evil.example/" }));
        Assert.Equal(HttpStatusCode.Redirect, ok.StatusCode);
        Assert.Equal("/", ok.Headers.Location!.OriginalString);
        using var read = await browser.GetAsync("/api/session");
        Assert.Equal("admin", (await BodyAsync(read)).GetProperty("name").GetString());
    }

    [Fact]
    public async Task OpenApi_document_describes_the_admin_api()
    {
        using var anonymous = new HttpClient { BaseAddress = _base };
        using var response = await anonymous.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var paths = (await BodyAsync(response)).GetProperty("paths");
        foreach (var path in new[] { "/api/channels", "/api/events", "/api/events/{id}", "/api/events/{id}/cancel", "/api/recordings", "/api/session",
            "/api/channels/{id}/broadcasts/{broadcastId}/audience" })
            Assert.True(paths.TryGetProperty(path, out _), $"missing {path}");
    }
}
