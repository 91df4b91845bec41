using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Tests.Playback;

/// <summary>
/// UseControl runs admin authentication everywhere but on the origin's public paths (/live, /time): a valid admin
/// bearer token is seen on /api and /watch-like paths and never even looked at on /live and /time, and WebApplication
/// does not add a second authentication in front of the pipeline.
/// </summary>
public sealed class OriginPathAuthenticationTests
{
    private const string Token = "origin-path-auth-token-0123456789";

    [Theory]
    [InlineData("/live/show/master.m3u8", false)]
    [InlineData("/live/show/720p/b1-1.m4s", false)]
    [InlineData("/time", false)]
    [InlineData("/api/probe", true)]
    [InlineData("/watch/show", true)]
    [InlineData("/lively", true)]
    public async Task Admin_authentication_runs_everywhere_but_on_origin_paths(string path, bool authenticated)
    {
        using var directory = new TempDirectory();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:ConnectionString"] = $"Data Source={directory.File("data/broadcast.db")}",
            ["Secrets:KeyPath"] = directory.File("data/secret.key"),
            ["Admin:Token"] = Token,
        });
        builder.Services.AddControl(builder.Configuration);
        await using var app = builder.Build();
        app.UseControl();
        // Whether the request arrived with an authenticated user, as the origin's handler would see it.
        RequestDelegate probe = context => context.Response.WriteAsync(context.User.Identity?.IsAuthenticated == true ? "yes" : "no");
        app.MapGet(path, probe);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var client = new HttpClient { BaseAddress = new Uri(address) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);

        Assert.Equal(authenticated ? "yes" : "no", await client.GetStringAsync(path));
        await app.StopAsync();
    }
}
