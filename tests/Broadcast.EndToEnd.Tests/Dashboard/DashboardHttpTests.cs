using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Dashboard;

/// <summary>
/// The dashboard's HTTP guarantees without a browser, on a server of its own (its sign-in limiter is set low, and
/// exhausting it must not lock the browser tests out): security headers, sign-in required, antiforgery on the
/// form, the rate limit, and no CDN in any page.
/// </summary>
public sealed class DashboardHttpTests : IAsyncLifetime
{
    private ServerProcess? _server;

    private ServerProcess Server => _server!;

    public async Task InitializeAsync()
        => _server = await ServerProcess.StartAsync(new ServerOptions { ExtraArguments = ["--Admin:SignInPermitsPerMinute=3"] });

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Pages_carry_security_headers_require_sign_in_and_check_antiforgery_and_sign_in_is_rate_limited()
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = Server.BaseUri };

        using (var r = await client.GetAsync("dashboard"))
        {
            Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
            Assert.Contains("/sign-in", r.Headers.Location!.ToString(), StringComparison.Ordinal);
        }

        using (var r = await client.GetAsync("sign-in"))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            var csp = string.Join(" ", r.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
            Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
            Assert.Equal("DENY", r.Headers.GetValues("X-Frame-Options").Single());
            Assert.Equal("nosniff", r.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("same-origin", r.Headers.GetValues("Referrer-Policy").Single());
            var html = await r.Content.ReadAsStringAsync();
            Assert.Contains("__RequestVerificationToken", html, StringComparison.Ordinal);
            Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        }

        // The hub lets no anonymous client connect: the session cookie's challenge sends it to the sign-in page.
        using (var r = await client.PostAsync("dashboard/hub/live/negotiate?negotiateVersion=1", null))
        {
            Assert.True(r.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Redirect, $"negotiate answered {(int)r.StatusCode}");
            if (r.StatusCode == HttpStatusCode.Redirect)
            {
                Assert.Contains("/sign-in", r.Headers.Location!.ToString(), StringComparison.Ordinal);
            }
        }

        // Every script and stylesheet the pages load is ours.
        foreach (var asset in new[] { "assets/lib/hls.min.js", "assets/lib/signalr.min.js", "assets/lib/uPlot.iife.min.js", "assets/css/dashboard.css", "assets/js/channel.js" })
        {
            using var r = await client.GetAsync(asset);
            Assert.True(r.StatusCode == HttpStatusCode.OK, $"GET /{asset} answered {(int)r.StatusCode}");
        }

        // A form post without the antiforgery token is refused before the password is looked at.
        using (var r = await client.PostAsync("sign-in", new FormUrlEncodedContent(new Dictionary<string, string>
               { ["UserName"] = "admin", ["Password"] = Server.AdminToken })))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.False(r.Headers.Contains("Set-Cookie") && r.Headers.GetValues("Set-Cookie").Any(c => c.StartsWith("broadcast.session", StringComparison.Ordinal)));
        }

        // Three attempts a minute from one address (configured low here); the fourth gets 429 whatever it carries.
        using (var r = await client.PostAsync("sign-in", new FormUrlEncodedContent(new Dictionary<string, string>())))
        {
            Assert.NotEqual(HttpStatusCode.TooManyRequests, r.StatusCode);
        }

        using (var r = await client.PostAsync("sign-in", new FormUrlEncodedContent(new Dictionary<string, string>())))
        {
            Assert.NotEqual(HttpStatusCode.TooManyRequests, r.StatusCode);
        }

        using (var r = await client.PostAsync("sign-in", new FormUrlEncodedContent(new Dictionary<string, string>())))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, r.StatusCode);
        }

        // Viewing the form is not limited.
        using (var r = await client.GetAsync("sign-in"))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }
    }

    [Fact]
    public async Task Watch_page_is_public_and_unknown_channels_are_404()
    {
        var channel = await Server.Api.CreateChannelAsync($"watch {Guid.NewGuid():N}");
        using (var r = await Server.Viewer.GetAsync($"watch/{channel.Slug}"))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            var html = await r.Content.ReadAsStringAsync();
            Assert.Contains("Off air", html, StringComparison.Ordinal);
            Assert.Equal("DENY", r.Headers.GetValues("X-Frame-Options").Single());
        }

        using (var r = await Server.Viewer.GetAsync("watch/no-such-channel"))
        {
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        }

        // An event in an hour: the page counts down to it (the countdown itself ticks in watch.js).
        var startsAt = DateTimeOffset.UtcNow.AddHours(1);
        var body = JsonSerializer.Serialize(new
        {
            channelId = channel.Id,
            title = "Saturday final",
            startsAt = startsAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            endsAt = startsAt.AddHours(2).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            record = true,
        });
        string eventId;
        using (var r = await Server.Http.PostAsync("api/events", new StringContent(body, Encoding.UTF8, "application/json")))
        {
            var text = await r.Content.ReadAsStringAsync();
            Assert.True(r.StatusCode == HttpStatusCode.Created, $"POST /api/events answered {(int)r.StatusCode}: {text}");
            eventId = JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
        }

        var countdown = await Server.Viewer.GetStringAsync($"watch/{channel.Slug}");
        Assert.Contains("data-mode=\"countdown\"", countdown, StringComparison.Ordinal);
        Assert.Contains("id=\"countdown\"", countdown, StringComparison.Ordinal);
        Assert.Contains("Saturday final", countdown, StringComparison.Ordinal);

        using (var r = await Server.Http.PostAsync($"api/events/{eventId}/cancel", null))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }

        var cancelled = await Server.Viewer.GetStringAsync($"watch/{channel.Slug}");
        Assert.Contains("This event was cancelled", cancelled, StringComparison.Ordinal);
    }
}
