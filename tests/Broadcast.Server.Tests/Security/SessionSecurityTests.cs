using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Broadcast.Control.Security;
using Broadcast.Control.Users;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Server.Tests.Security;

/// <summary>
/// The dashboard session against a real server on loopback: sign-in takes JSON only (no login CSRF), every
/// cookie-authenticated unsafe route wants the antiforgery token, sign-out and password changes end every session of the
/// user (copies of the cookie included), and forwarded headers count only from <c>Http:TrustedProxies</c>.
/// </summary>
public sealed class SessionSecurityTests
{
    private const string Name = "session-admin";
    private const string Password = "a-long-enough-password-1";

    // Cheap hashes: these tests sign in many times.
    private static Task<InProcessServer> StartAsync(params string[] extra) =>
        InProcessServer.StartAsync(["--Admin:SignInPermitsPerMinute=100", .. extra]);

    [Fact]
    public async Task Sign_in_takes_json_only_so_a_cross_site_form_cannot_sign_a_browser_in()
    {
        await using var server = await StartAsync();
        await CreateUserAsync(server);
        using var browser = Browser.For(server);
        string json = $"{{\"name\":\"{Name}\",\"password\":\"{Password}\"}}";
        // What a cross-site page can send without a preflight: text/plain and form bodies.
        foreach (var content in new HttpContent[]
                 {
                     new StringContent(json, Encoding.UTF8, "text/plain"),
                     new FormUrlEncodedContent(new Dictionary<string, string> { ["name"] = Name, ["password"] = Password }),
                     new ByteArrayContent(Encoding.UTF8.GetBytes(json)),
                 })
        {
            using (content)
            using (var refused = await browser.Http.PostAsync("/api/session", content))
            {
                Assert.Equal(HttpStatusCode.UnsupportedMediaType, refused.StatusCode);
                Assert.False(refused.Headers.Contains("Set-Cookie") && refused.Headers.GetValues("Set-Cookie").Any(c => c.StartsWith(ControlAuth.SessionCookieName, StringComparison.Ordinal)));
            }
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.Http.GetAsync("/api/session")).StatusCode);
        await browser.SignInAsync();
        Assert.Equal(HttpStatusCode.OK, (await browser.Http.GetAsync("/api/session")).StatusCode);
    }

    [Fact]
    public async Task Every_cookie_authenticated_unsafe_route_is_checked_for_the_antiforgery_token()
    {
        await using var server = await StartAsync();
        var endpoints = ((IEndpointRouteBuilder)server.App).DataSources.SelectMany(source => source.Endpoints).OfType<RouteEndpoint>().ToList();
        Assert.NotEmpty(endpoints);
        var exempt = new List<string>();
        int checkedRoutes = 0;
        foreach (var endpoint in endpoints)
        {
            var methods = endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? [HttpMethods.Post];
            foreach (var method in methods.Where(m => !HttpMethods.IsGet(m) && !HttpMethods.IsHead(m) && !HttpMethods.IsOptions(m)))
            {
                var context = CookieRequest(method, endpoint);
                if (CookieAntiforgeryMiddleware.NeedsToken(context))
                {
                    checkedRoutes++;
                }
                else if (endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.SignalR.HubMetadata>() is null)
                {
                    exempt.Add($"{method} /{endpoint.RoutePattern.RawText?.Trim('/')}");
                }
            }
        }

        // A new exemption is a decision, made here: these three check forgery their own way; the ClearKey license changes
        // nothing and answers by the playback token, never the session (a signed-in admin's player sends the cookie along).
        Assert.Equal(["POST /account/sign-in", "POST /account/sign-out", "POST /api/session", "POST /live/{channel}/license"],
            exempt.Order(StringComparer.Ordinal).ToArray());
        Assert.True(checkedRoutes > 20, $"only {checkedRoutes} unsafe routes found");

        // And the check is in the pipeline: real requests with the session cookie and without the token are refused.
        await CreateUserAsync(server);
        using var browser = Browser.For(server);
        string token = await browser.SignInAsync();
        using (var create = new HttpRequestMessage(HttpMethod.Post, "/api/channels") { Content = JsonContent.Create(new { name = "Forged" }) })
        {
            await AssertForgeryRefusedAsync(await browser.Http.SendAsync(create));
        }

        using (var signOut = new HttpRequestMessage(HttpMethod.Delete, "/api/session"))
        {
            await AssertForgeryRefusedAsync(await browser.Http.SendAsync(signOut));
        }

        Assert.Equal(HttpStatusCode.OK, (await browser.Http.GetAsync("/api/session")).StatusCode); // still signed in
        using (var create = new HttpRequestMessage(HttpMethod.Post, "/api/channels") { Content = JsonContent.Create(new { name = "Real" }) })
        {
            create.Headers.Add(ControlAuth.AntiforgeryHeader, token);
            using var created = await browser.Http.SendAsync(create);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }
    }

    [Fact]
    public async Task Signing_out_ends_every_session_of_the_user_copies_of_the_cookie_included()
    {
        await using var server = await StartAsync();
        await CreateUserAsync(server);
        using var laptop = Browser.For(server);
        using var phone = Browser.For(server);
        string laptopToken = await laptop.SignInAsync();
        await phone.SignInAsync();
        string stolen = laptop.SessionCookie();
        Assert.Equal(HttpStatusCode.OK, await WithCookieAsync(server, stolen));

        using (var signOut = new HttpRequestMessage(HttpMethod.Delete, "/api/session"))
        {
            signOut.Headers.Add(ControlAuth.AntiforgeryHeader, laptopToken);
            using var ended = await laptop.Http.SendAsync(signOut);
            Assert.Equal(HttpStatusCode.NoContent, ended.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await laptop.Http.GetAsync("/api/session")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await phone.Http.GetAsync("/api/session")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, await WithCookieAsync(server, stolen));

        // Signing in again works, with a cookie the old copy does not become valid with.
        await laptop.SignInAsync();
        Assert.Equal(HttpStatusCode.OK, (await laptop.Http.GetAsync("/api/session")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, await WithCookieAsync(server, stolen));
    }

    [Fact]
    public async Task Changing_the_password_ends_the_other_sessions_and_keeps_this_one()
    {
        await using var server = await StartAsync();
        await CreateUserAsync(server);
        using var laptop = Browser.For(server);
        using var phone = Browser.For(server);
        string token = await laptop.SignInAsync();
        await phone.SignInAsync();

        using (var change = new HttpRequestMessage(HttpMethod.Post, "/api/session/password")
               {
                   Content = JsonContent.Create(new { currentPassword = Password, newPassword = "another-long-password-2" }),
               })
        {
            change.Headers.Add(ControlAuth.AntiforgeryHeader, token);
            using var changed = await laptop.Http.SendAsync(change);
            Assert.Equal(HttpStatusCode.NoContent, changed.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await laptop.Http.GetAsync("/api/session")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await phone.Http.GetAsync("/api/session")).StatusCode);
    }

    [Fact]
    public async Task Behind_a_trusted_proxy_the_cookie_is_secure_and_each_client_has_its_own_sign_in_limit()
    {
        await using var server = await StartAsync("--Http:TrustedProxies=127.0.0.1", "--Admin:SignInPermitsPerMinute=3");
        await CreateUserAsync(server);
        using (var secure = await SignInAsync(server, forwardedProto: "https", forwardedFor: "203.0.113.10"))
        {
            Assert.Equal(HttpStatusCode.OK, secure.StatusCode);
            Assert.Contains("secure", SessionSetCookie(secure), StringComparison.OrdinalIgnoreCase);
        }

        // One client guessing passwords uses up its own bucket; another client behind the same proxy is unaffected.
        for (int i = 0; i < 2; i++) Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync(server, null, "203.0.113.10", "wrong-password")).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await SignInAsync(server, null, "203.0.113.10", "wrong-password")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync(server, null, "203.0.113.11", "wrong-password")).StatusCode);
    }

    [Fact]
    public async Task An_ipv6_guesser_has_one_sign_in_bucket_for_its_whole_64()
    {
        await using var server = await StartAsync("--Http:TrustedProxies=127.0.0.1", "--Admin:SignInPermitsPerMinute=3");
        await CreateUserAsync(server);
        // Addresses of one /64 (a client walks them freely) share its bucket of three; the next /64 has its own.
        for (int i = 1; i <= 3; i++) Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync(server, null, $"2001:db8:5:7::{i}", "wrong-password")).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await SignInAsync(server, null, "2001:db8:5:7:ffff::4", "wrong-password")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync(server, null, "2001:db8:5:8::1", "wrong-password")).StatusCode);
    }

    [Fact]
    public async Task Ten_wrong_passwords_for_one_name_from_any_addresses_lock_its_sign_in_and_no_other()
    {
        await using var server = await StartAsync("--Http:TrustedProxies=127.0.0.1");
        await CreateUserAsync(server);
        // Ten addresses, one wrong password each: no address is over its limit, the account is.
        for (int i = 1; i < AccountSignInGuard.MaxFailures; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync(server, null, $"198.51.100.{i}", "wrong-password")).StatusCode);
        using (var locking = await SignInAsync(server, null, "198.51.100.10", "wrong-password"))
            Assert.Equal(HttpStatusCode.TooManyRequests, locking.StatusCode);

        // Now even the right password, from a new address, waits: 429 with Retry-After, no session.
        using (var refused = await SignInAsync(server, null, "198.51.100.11"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.FromMinutes(14), refused.Headers.RetryAfter?.ToString());
            Assert.False(refused.Headers.Contains("Set-Cookie"));
        }

        // Another name is not affected (and an unknown one is counted the same way, telling nothing of which exist).
        using var other = new HttpClient { BaseAddress = server.BaseAddress };
        using var otherName = await other.PostAsync("/api/session", JsonContent.Create(new { name = "someone-else", password = "wrong-password" }));
        Assert.Equal(HttpStatusCode.Unauthorized, otherName.StatusCode);
    }

    [Fact]
    public async Task Without_trusted_proxies_forwarded_headers_are_ignored()
    {
        await using var server = await StartAsync("--Admin:SignInPermitsPerMinute=3");
        await CreateUserAsync(server);
        using (var plain = await SignInAsync(server, forwardedProto: "https", forwardedFor: "203.0.113.10"))
        {
            Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
            Assert.DoesNotContain("secure", SessionSetCookie(plain), StringComparison.OrdinalIgnoreCase);
        }

        // Anyone could send X-Forwarded-For: it names no bucket here, so a guesser cannot dodge the limit with it.
        for (int i = 0; i < 2; i++) Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync(server, null, $"203.0.113.{20 + i}", "wrong-password")).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await SignInAsync(server, null, "203.0.113.30", "wrong-password")).StatusCode);
    }

    [Fact]
    public void A_trusted_proxy_entry_that_is_neither_an_address_nor_a_network_stops_the_start()
    {
        var error = Assert.Throws<InvalidOperationException>(() => TrustedProxies.From("10.0.0.5, proxy.example"));
        Assert.Contains("Http:TrustedProxies", error.Message, StringComparison.Ordinal);
        Assert.Contains("proxy.example", error.Message, StringComparison.Ordinal);
        var options = TrustedProxies.From("10.0.0.5; 10.1.0.0/16 2001:db8::/32")!;
        Assert.Empty(options.KnownProxies); // loopback, trusted by default, is not: only what is configured
        Assert.Equal([System.Net.IPNetwork.Parse("10.0.0.5/32"), System.Net.IPNetwork.Parse("10.1.0.0/16"), System.Net.IPNetwork.Parse("2001:db8::/32")],
            options.KnownIPNetworks);
        Assert.Null(TrustedProxies.From(" "));
    }

    [Fact]
    public async Task Control_nodes_on_one_database_share_the_key_ring_encrypted_under_the_server_secret()
    {
        using var shared = new Broadcast.TestSupport.TempDirectory("shared-keys");
        string[] database = [$"--Database:ConnectionString=Data Source={Path.Combine(shared.Path, "broadcast.db")}", $"--Secrets:KeyPath={Path.Combine(shared.Path, "secret.key")}"];
        string cookie;
        await using (var first = await StartAsync(database))
        {
            await CreateUserAsync(first);
            using var browser = Browser.For(first);
            await browser.SignInAsync();
            cookie = browser.SessionCookie();
        }

        // Another node (here: the next start) accepts the session: the keys are in the database, not on the node.
        await using (var second = await StartAsync(database))
        {
            Assert.Equal(HttpStatusCode.OK, await WithCookieAsync(second, cookie));
        }

        string xml = await KeyRingXmlAsync(Path.Combine(shared.Path, "broadcast.db"));
        Assert.Contains("serverSecretEncrypted", xml, StringComparison.Ordinal);
        Assert.DoesNotContain("masterKey", xml, StringComparison.Ordinal);

        // A node with another server secret cannot read the keys: the session is refused, not an error.
        await using var stranger = await StartAsync(database[0]);
        Assert.Equal(HttpStatusCode.Unauthorized, await WithCookieAsync(stranger, cookie));
    }

    private static async Task<string> KeyRingXmlAsync(string databasePath)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={databasePath}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT group_concat(xml, '') FROM data_protection_keys";
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private static DefaultHttpContext CookieRequest(string method, Endpoint endpoint)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, Name)], ControlAuth.CookieScheme));
        context.SetEndpoint(endpoint);
        return context;
    }

    private static async Task AssertForgeryRefusedAsync(HttpResponseMessage response)
    {
        using (response)
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("Antiforgery", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    private static async Task CreateUserAsync(InProcessServer server)
        => Assert.True(await server.Services.GetRequiredService<AdminUserService>().CreateAsync(Name, Password));

    private static async Task<HttpResponseMessage> SignInAsync(InProcessServer server, string? forwardedProto, string forwardedFor, string password = Password)
    {
        using var client = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/session") { Content = JsonContent.Create(new { name = Name, password }) };
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        if (forwardedProto is not null) request.Headers.Add("X-Forwarded-Proto", forwardedProto);
        return await client.SendAsync(request);
    }

    private static string SessionSetCookie(HttpResponseMessage response)
        => response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(ControlAuth.SessionCookieName + "=", StringComparison.Ordinal));

    private static async Task<HttpStatusCode> WithCookieAsync(InProcessServer server, string cookie)
    {
        using var client = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/session");
        request.Headers.Add("Cookie", cookie);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>A browser: its own cookie jar, signed in through the JSON endpoint.</summary>
    private sealed class Browser : IDisposable
    {
        private readonly CookieContainer _cookies = new();
        private readonly Uri _base;

        private Browser(Uri baseAddress)
        {
            _base = baseAddress;
            Http = new HttpClient(new HttpClientHandler { CookieContainer = _cookies }) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        }

        public HttpClient Http { get; }

        public static Browser For(InProcessServer server) => new(server.BaseAddress);

        /// <summary>Signs in; returns the antiforgery token for unsafe requests.</summary>
        public async Task<string> SignInAsync()
        {
            using var response = await Http.PostAsync("/api/session", JsonContent.Create(new { name = Name, password = Password }));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return body.RootElement.GetProperty("antiforgeryToken").GetString()!;
        }

        /// <summary>The session cookie as a Cookie header value (what a thief would copy).</summary>
        public string SessionCookie() => $"{ControlAuth.SessionCookieName}={_cookies.GetCookies(_base)[ControlAuth.SessionCookieName]!.Value}";

        public void Dispose() => Http.Dispose();
    }
}
