using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broadcast.Control.Security;
using Broadcast.Server.Tests.Chat;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Broadcast.Server.Tests.Security;

/// <summary>
/// Moderator accounts against a real server on loopback: an admin creates one through <c>/api/users</c>; signed in, it
/// moderates chat (the hub treats it as a moderator) and opens the moderation page, its account and nothing else: the
/// admin API and the admin pages refuse it. The last admin cannot be deleted.
/// </summary>
public sealed class ModeratorAccountTests
{
    private const string ModeratorName = "chat-mod";
    private const string ModeratorPassword = "moderator-password-1";

    private static Task<InProcessServer> StartAsync() =>
        InProcessServer.StartAsync("--Admin:SignInPermitsPerMinute=100");

    [Fact]
    public async Task A_moderator_account_moderates_chat_and_is_refused_the_admin_api_and_pages()
    {
        await using var server = await StartAsync();
        var account = await CreateAccountAsync(server, ModeratorName, ModeratorPassword, "moderator");
        Assert.Equal("moderator", account.GetProperty("role").GetString());
        Assert.False(account.TryGetProperty("passwordHash", out _));
        var slug = await CreateChannelAsync(server, "moderated room");

        var cookies = new CookieContainer();
        using var moderator = new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false }) { BaseAddress = server.BaseAddress };
        using (var signedIn = await moderator.PostAsync("/api/session", JsonContent.Create(new { name = ModeratorName, password = ModeratorPassword })))
        {
            Assert.Equal(HttpStatusCode.OK, signedIn.StatusCode);
            using var body = JsonDocument.Parse(await signedIn.Content.ReadAsStringAsync());
            Assert.Equal("moderator", body.RootElement.GetProperty("role").GetString());
        }

        // Its own session and the pages it may use…
        Assert.Equal(HttpStatusCode.OK, (await moderator.GetAsync("/api/session")).StatusCode);
        using (var page = await moderator.GetAsync("/dashboard/moderate"))
        {
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains($"/watch/{slug}", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.OK, (await moderator.GetAsync("/dashboard/account")).StatusCode);

        // …and nothing of the admin's: the API answers 403, an admin page sends it to the moderation page.
        foreach (var path in new[] { "/api/channels", "/api/users", "/api/events" })
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await moderator.GetAsync(path)).StatusCode);
        }

        foreach (var path in new[] { "/dashboard", "/dashboard/events", "/dashboard/recordings" })
        {
            using var denied = await moderator.GetAsync(path);
            Assert.Equal(HttpStatusCode.Redirect, denied.StatusCode);
            Assert.Equal(ControlAuth.ModerationPath, new Uri(server.BaseAddress, denied.Headers.Location!).AbsolutePath);
        }

        // The chat hub takes the moderator's session as a moderator's; an anonymous viewer is not one.
        await using var moderatorHub = await ChatHubClient.ConnectAsync(server, cookies);
        var joined = await moderatorHub.InvokeAsync<JsonElement>("Join", slug, null, null);
        Assert.True(joined.GetProperty("moderator").GetBoolean());
        var settings = await moderatorHub.InvokeAsync<JsonElement>("SaveSettings", "hold", 0, null, null);
        Assert.Equal("hold", settings.GetProperty("mode").GetString());

        await using var viewerHub = await ChatHubClient.ConnectAsync(server);
        var viewer = await viewerHub.InvokeAsync<JsonElement>("Join", slug, null, null);
        Assert.False(viewer.GetProperty("moderator").GetBoolean());
        var refused = await Assert.ThrowsAsync<HubException>(() => viewerHub.InvokeAsync<JsonElement>("SaveSettings", "open", 0, null, null));
        Assert.Contains("Only moderators", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Accounts_are_validated_and_the_last_admin_cannot_be_deleted()
    {
        await using var server = await StartAsync();
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAccountAsync(server, "someone", ModeratorPassword, "owner")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAccountAsync(server, "someone", "short", "moderator")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAccountAsync(server, " ", ModeratorPassword, "moderator")).StatusCode);
        var moderator = await CreateAccountAsync(server, ModeratorName, ModeratorPassword, "moderator");
        Assert.Equal(HttpStatusCode.Conflict, (await PostAccountAsync(server, ModeratorName, ModeratorPassword, "admin")).StatusCode);
        var admin = await CreateAccountAsync(server, "only-admin", ModeratorPassword, "admin");

        using (var list = await server.Http.SendAsync(server.Authorized(HttpMethod.Get, "/api/users")))
        {
            var accounts = JsonDocument.Parse(await list.Content.ReadAsStringAsync()).RootElement.EnumerateArray()
                .ToDictionary(a => a.GetProperty("name").GetString()!, a => a.GetProperty("role").GetString());
            Assert.Equal("moderator", accounts[ModeratorName]);
            Assert.Equal("admin", accounts["only-admin"]);
        }

        // The moderator goes; its session with it.
        using var signedIn = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = server.BaseAddress };
        Assert.Equal(HttpStatusCode.OK, (await signedIn.PostAsync("/api/session", JsonContent.Create(new { name = ModeratorName, password = ModeratorPassword }))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await DeleteAsync(server, moderator.GetProperty("id").GetString()!)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await signedIn.GetAsync("/api/session")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await DeleteAsync(server, moderator.GetProperty("id").GetString()!)).StatusCode);

        // Whatever admins there were (the first admin the server made, this one), the last one stays.
        var admins = await AdminIdsAsync(server);
        Assert.Contains(admin.GetProperty("id").GetString(), admins);
        foreach (var id in admins.Skip(1)) Assert.Equal(HttpStatusCode.NoContent, (await DeleteAsync(server, id)).StatusCode);
        using var last = await DeleteAsync(server, admins[0]);
        Assert.Equal(HttpStatusCode.Conflict, last.StatusCode);
        Assert.Contains("last admin", await last.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Single(await AdminIdsAsync(server));
    }

    private static async Task<HttpResponseMessage> PostAccountAsync(InProcessServer server, string name, string password, string role)
    {
        var request = server.Authorized(HttpMethod.Post, "/api/users");
        request.Content = JsonContent.Create(new { name, password, role });
        return await server.Http.SendAsync(request);
    }

    private static async Task<JsonElement> CreateAccountAsync(InProcessServer server, string name, string password, string role)
    {
        using var response = await PostAccountAsync(server, name, password, role);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static Task<HttpResponseMessage> DeleteAsync(InProcessServer server, string id)
        => server.Http.SendAsync(server.Authorized(HttpMethod.Delete, $"/api/users/{id}"));

    private static async Task<List<string>> AdminIdsAsync(InProcessServer server)
    {
        using var list = await server.Http.SendAsync(server.Authorized(HttpMethod.Get, "/api/users"));
        return JsonDocument.Parse(await list.Content.ReadAsStringAsync()).RootElement.EnumerateArray()
            .Where(a => a.GetProperty("role").GetString() == "admin").Select(a => a.GetProperty("id").GetString()!).ToList();
    }

    private static async Task<string> CreateChannelAsync(InProcessServer server, string name) => (await server.CreateChannelAsync(name)).Slug;
}
