using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broadcast.Refusals;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broadcast.Server.Tests;

/// <summary>
/// The one error boundary (<see cref="RefusalBoundary"/>): every route the composed application maps carries it (found
/// through its EndpointDataSource, so a new route cannot forget), and a refusal thrown below an endpoint, of any kind and
/// from either shape of handler, is answered as problem+json of its kind.
/// </summary>
public sealed class RefusalBoundaryTests
{
    private static readonly string[] SteeringArguments =
        ["--Steering:Pathways:0:Id=a", $"--Steering:Pathways:0:BaseUrl=http://127.0.0.1:{Broadcast.TestSupport.FreePort.Tcp()}"];

    [Fact]
    public async Task Every_route_of_the_composed_application_is_under_the_boundary()
    {
        await using var server = await InProcessServer.StartAsync(SteeringArguments);
        var routes = server.Services.GetServices<EndpointDataSource>().SelectMany(s => s.Endpoints).OfType<RouteEndpoint>()
            // Razor pages answer in HTML and SignalR hubs in their own frames: neither is a route that writes problem+json.
            .Where(e => e.Metadata.GetMetadata<ActionDescriptor>() is null && e.Metadata.GetMetadata<HubMetadata>() is null)
            .ToList();
        var outside = routes.Where(e => e.Metadata.GetMetadata<RefusalBoundaryMetadata>() is null)
            .Select(e => $"{string.Join(",", e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["*"])} {e.RoutePattern.RawText}")
            .ToList();

        Assert.True(outside.Count == 0, "Routes outside the error boundary (put WithRefusalBoundary() on their group):\n" + string.Join('\n', outside));
        var patterns = routes.Select(e => "/" + e.RoutePattern.RawText!.Trim('/')).ToHashSet(StringComparer.Ordinal);
        // Control's API, webrtc's WHEP, WHIP and room, origin's steering and license, the node's own: all seen.
        Assert.Superset(new HashSet<string>(StringComparer.Ordinal)
        {
            "/api/channels", "/api/channels/{id}/clips", "/api/channels/{id}/chat", "/live/{channel}/whep", "/whip",
            "/api/rooms/{channel}/layout", "/room/{channel}/knocks", "/api/steering", "/live/{channel}/license", "/healthz", "/metrics",
        }, patterns);
        Assert.True(routes.Count > 80, $"only {routes.Count} routes seen");
    }

    [Fact]
    public async Task A_room_layout_with_an_unknown_word_is_a_400_naming_its_field_through_the_composed_application()
    {
        await using var server = await InProcessServer.StartAsync();
        using var request = server.Authorized(HttpMethod.Put, "/api/rooms/nowhere/layout");
        request.Content = JsonContent.Create(new { kind = "mosaic", participants = Array.Empty<string>() });
        using var response = await server.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("unknown layout 'mosaic': auto, single, side-by-side, grid or pip",
            body.RootElement.GetProperty("errors").GetProperty("kind")[0].GetString());
    }

    public static TheoryData<string, int, string?> Kinds => new()
    {
        { "not-found", 404, "Not Found" },
        { "conflict", 409, "Conflict" },
        { "forbidden", 403, "Forbidden" },
        { "unauthorized", 401, "Unauthorized" },
        { "too-many", 429, "Too Many Requests" },
        { "engine-failed", 502, "Bad Gateway" },
        { "unavailable", 503, "Service Unavailable" },
        { "malformed", 400, "Bad Request" },
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_refusal_thrown_in_an_endpoint_is_problem_json_of_its_kind(string kind, int status, string? title)
    {
        await using var app = await StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        foreach (string shape in new[] { "handler", "delegate" })
        {
            using var response = await http.GetAsync($"/{shape}/{kind}");
            Assert.Equal(status, (int)response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal(status, body.RootElement.GetProperty("status").GetInt32());
            Assert.Equal(title, body.RootElement.GetProperty("title").GetString());
            Assert.Equal($"refused: {kind}", body.RootElement.GetProperty("detail").GetString());
        }
    }

    [Fact]
    public async Task An_invalid_field_is_a_400_with_errors_and_a_conflict_about_a_field_names_it()
    {
        await using var app = await StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        using (var invalid = await http.GetAsync("/handler/invalid"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
            using var body = JsonDocument.Parse(await invalid.Content.ReadAsStringAsync());
            Assert.Equal("Invalid request", body.RootElement.GetProperty("title").GetString());
            Assert.Equal("must be a word", body.RootElement.GetProperty("errors").GetProperty("name")[0].GetString());
        }

        using (var conflict = await http.GetAsync("/handler/field-conflict"))
        {
            Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
            using var body = JsonDocument.Parse(await conflict.Content.ReadAsStringAsync());
            Assert.Equal("from", body.RootElement.GetProperty("field").GetString());
            Assert.Equal("nothing stored", body.RootElement.GetProperty("detail").GetString());
        }

        // Anything else is not a refusal: the boundary leaves it to the server's own handling (a 500, never a made-up kind).
        using var fault = await http.GetAsync("/handler/bug");
        Assert.Equal(HttpStatusCode.InternalServerError, fault.StatusCode);
    }

    private static Refusal RefusalOf(string kind) => kind switch
    {
        "not-found" => new Refusal(RefusalKind.NotFound, $"refused: {kind}"),
        "conflict" => new Refusal(RefusalKind.Conflict, $"refused: {kind}", title: "Conflict"),
        "forbidden" => new Refusal(RefusalKind.Forbidden, $"refused: {kind}"),
        "unauthorized" => new Refusal(RefusalKind.Unauthorized, $"refused: {kind}"),
        "too-many" => new Refusal(RefusalKind.TooMany, $"refused: {kind}"),
        "engine-failed" => new Refusal(RefusalKind.EngineFailed, $"refused: {kind}"),
        "unavailable" => new Refusal(RefusalKind.Unavailable, $"refused: {kind}"),
        "malformed" => new Refusal(RefusalKind.Invalid, $"refused: {kind}"),
        "invalid" => Refusal.Invalid("name", "must be a word", "Invalid request"),
        "field-conflict" => new Refusal(RefusalKind.Conflict, "nothing stored", "from", "Conflict"),
        _ => throw new InvalidOperationException("a bug, not a refusal"),
    };

    /// <summary>A host with a route group under the boundary: a minimal handler and a plain request delegate, each throwing.</summary>
    private static async Task<WebApplication> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddProblemDetails();
        var app = builder.Build();
        var routes = app.MapGroup("").WithRefusalBoundary();
        routes.MapGet("/handler/{kind}", IResult (string kind) => throw RefusalOf(kind));
        routes.MapGet("/delegate/{kind}", context => throw RefusalOf((string)context.Request.RouteValues["kind"]!));
        await app.StartAsync();
        return app;
    }
}
