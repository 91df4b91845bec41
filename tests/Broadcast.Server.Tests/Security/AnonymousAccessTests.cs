using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Server.Tests.Security;

/// <summary>
/// Every endpoint the real application maps, found through its EndpointDataSource, is asked without credentials:
/// /api answers 401, dashboard pages redirect to sign-in, and only the intended public endpoints answer anything else.
/// A new endpoint that forgets its policy fails here.
/// </summary>
public sealed partial class AnonymousAccessTests
{
    // Public on purpose: sign-in, health and metrics for probes and scrapers, playback (origin, WHEP and watch page), the
    // OpenAPI document, the store backlog on ingest nodes, and "/" which redirects to the dashboard.
    private static readonly HashSet<string> IntendedAnonymous = new(StringComparer.Ordinal)
    {
        "GET /", "GET /healthz", "GET /readyz", "GET /metrics", "GET /status/store", "GET /openapi/{documentName}.json",
        "GET /live/{**path}", "HEAD /live/{**path}", "OPTIONS /live/{**path}", "GET /time", "HEAD /time", "OPTIONS /time",
        "GET /watch/{slug}", "GET /sign-in", "POST /sign-in", "POST /account/sign-in", "GET /account/antiforgery", "POST /account/sign-out",
        "POST /api/session", "GET /playback/authorize", "HEAD /playback/authorize",
        // The chat hub: anonymous viewers; Join checks a private channel's viewing token, moderation needs an admin.
        "POST /chat/hub/negotiate", "GET /chat/hub/negotiate", "GET /chat/hub", "POST /chat/hub", "DELETE /chat/hub",
        // WHEP: anonymous viewers as for HLS; a private channel's playback token is checked by the route itself. A
        // session's DELETE is authorised by its unguessable resource id (128 random bits), as WHEP has it.
        "POST /live/{channel}/whep", "OPTIONS /live/{channel}/whep", "DELETE /live/{channel}/whep/{session}",
        "OPTIONS /live/{channel}/whep/{session}", "PATCH /live/{channel}/whep/{session}",
        // The ClearKey license: anonymous viewers as for DASH; a private channel's playback token is checked by the route.
        "POST /live/{channel}/license", "OPTIONS /live/{channel}/license",
        // The AES-128 HLS key, under the license's rules: anonymous for a public channel, the playback token for a private one.
        "GET /live/{channel}/key/{kid}", "OPTIONS /live/{channel}/key/{kid}",
        // WHIP into a live room: the stream key is the bearer token, checked by the route; a session's DELETE is authorised
        // by its unguessable resource id, as WHIP has it.
        "POST /whip", "OPTIONS /whip", "DELETE /whip/{channel}/{session}", "OPTIONS /whip/{channel}/{session}", "PATCH /whip/{channel}/{session}",
        // The live room's guests: anybody may ask to join (bounded per room and address; a host admits), the green room's
        // page is public, a knock is polled with its secret, an admitted guest publishes with the host's one-use grant,
        // and a participant's token (128 random bits, known to it alone; lists show only public ids) is its bearer for the room's list and subscriptions
        // and the capability to leave.
        "GET /room/{slug}/join", "POST /room/{channel}/knocks", "GET /room/{channel}/knocks/{id}", "POST /room/{channel}/participants",
        "DELETE /room/{channel}/participants/{token}", "GET /room/{channel}/participants", "POST /room/{channel}/subscriptions",
        "PATCH /room/{channel}/subscriptions/{id}", "DELETE /room/{channel}/subscriptions/{id}",
        // Content steering: players ask before and while they play; an answer holds pathway ids only.
        "GET /steering/hls", "GET /steering/dash",
    };

    // Between nodes: the node credential (Playback:NodeToken), never a viewer's or an admin's: refused without it (401, or
    // 403 on a node that has none set, as here).
    private static readonly HashSet<string> NodeTokenOnly = new(StringComparer.Ordinal)
    {
        "GET /internal/realtime/{channel}/feed.flv", "GET /internal/realtime/live", "GET /internal/realtime/{channel}/live",
    };

    [Fact]
    public async Task Every_endpoint_but_the_public_ones_requires_an_admin()
    {
        // Steering configured, so its routes (and the operator's /api/steering) are mapped and checked too. Nothing listens
        // on the pathway's port: its probes fail, which this test does not look at.
        await using var server = await InProcessServer.StartAsync("--Steering:Pathways:0:Id=a", $"--Steering:Pathways:0:BaseUrl=http://127.0.0.1:{Broadcast.TestSupport.FreePort.Tcp()}");
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = server.BaseAddress };
        var sources = server.Services.GetServices<EndpointDataSource>();
        var checkedRoutes = new List<string>();
        var failures = new List<string>();
        foreach (var endpoint in sources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>())
        {
            // Group routes mapped with "" end in '/' ("/api/session/"): the same route as without it.
            string pattern = "/" + endpoint.RoutePattern.RawText!.Trim('/');
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [HttpMethods.Get];
            foreach (string method in methods)
            {
                string route = $"{method} {pattern}";
                if (IntendedAnonymous.Contains(route))
                {
                    continue;
                }

                checkedRoutes.Add(route);
                using var request = new HttpRequestMessage(new HttpMethod(method), Concrete(pattern));
                if (method is "POST" or "PUT" or "PATCH")
                {
                    request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
                }

                using var response = await client.SendAsync(request);
                bool ok = NodeTokenOnly.Contains(route) ? response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden
                    : pattern.StartsWith("/api/", StringComparison.Ordinal) || pattern == "/api"
                    ? response.StatusCode == HttpStatusCode.Unauthorized
                    : response.StatusCode == HttpStatusCode.Redirect
                        && response.Headers.Location?.OriginalString.StartsWith("/sign-in", StringComparison.Ordinal) == true
                        || response.StatusCode == HttpStatusCode.Redirect && response.Headers.Location?.AbsolutePath == "/sign-in";
                if (!ok)
                {
                    failures.Add($"{route} -> {(int)response.StatusCode} {response.Headers.Location}");
                }
            }
        }

        Assert.True(failures.Count == 0, "Reachable without credentials:\n" + string.Join('\n', failures));
        // The enumeration really saw the API and the dashboard.
        Assert.Contains("POST /api/channels", checkedRoutes);
        Assert.Contains("GET /internal/realtime/{channel}/feed.flv", checkedRoutes);
        Assert.Contains("POST /api/channels/{id}/playback-tokens", checkedRoutes);
        Assert.Contains("POST /api/playback/signing-keys/rotate", checkedRoutes);
        Assert.Contains(checkedRoutes, r => r.StartsWith("GET /dashboard", StringComparison.Ordinal));
        Assert.Contains(checkedRoutes, r => r.StartsWith("GET /api/events", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Dashboard_watch_and_sign_in_pages_carry_the_security_headers()
    {
        await using var server = await InProcessServer.StartAsync();
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = server.BaseAddress };
        foreach (string path in new[] { "/sign-in", "/dashboard", "/watch/default" })
        {
            using var response = await client.GetAsync(path);
            Assert.True(response.Headers.TryGetValues("Content-Security-Policy", out var csp), path);
            Assert.Contains("default-src 'self'", csp!.Single());
            Assert.Contains("frame-ancestors 'none'", csp!.Single());
            Assert.DoesNotContain("unsafe-inline", csp!.Single());
            Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("same-origin", response.Headers.GetValues("Referrer-Policy").Single());
        }
    }

    /// <summary>A request path for a route pattern: every parameter becomes a harmless value.</summary>
    private static string Concrete(string pattern) => RouteParameter().Replace(pattern, m => m.Value.Contains("**", StringComparison.Ordinal) ? "x/y" : "x");

    [GeneratedRegex(@"\{[^}]+\}")]
    private static partial Regex RouteParameter();
}
