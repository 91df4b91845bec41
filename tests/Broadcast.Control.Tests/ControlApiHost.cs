using System.Net.Http.Headers;
using Broadcast.Control.Api;
using Broadcast.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Tests;

/// <summary>
/// The control plane's API on a real Kestrel bound to 127.0.0.1:0 over a SQLite file in a temp directory, with
/// an HttpClient that carries the admin bearer token.
/// </summary>
internal sealed class ControlApiHost : IAsyncDisposable
{
    private readonly TempDirectory _directory;

    private ControlApiHost(WebApplication app, TempDirectory directory, Uri baseAddress, string token)
    {
        App = app;
        _directory = directory;
        BaseAddress = baseAddress;
        Client = new HttpClient { BaseAddress = baseAddress };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public WebApplication App { get; }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    /// <summary>The name resolution every control test host uses.</summary>
    public static FakeHostResolver Resolver { get; } = new();

    /// <param name="settings">Configuration beside the database, secret and token ones the host sets itself.</param>
    /// <param name="services">Extra registrations after <c>AddControl</c> (e.g. a live-status stand-in).</param>
    /// <param name="map">Extra endpoints after the control API (e.g. the chat hub).</param>
    public static async Task<ControlApiHost> StartAsync(string token, IReadOnlyDictionary<string, string?> settings,
        Action<IServiceCollection>? services = null, Action<WebApplication>? map = null)
    {
        var directory = new TempDirectory();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var configuration = new Dictionary<string, string?>
        {
            ["Database:Kind"] = "sqlite",
            ["Database:ConnectionString"] = $"Data Source={directory.File("data/broadcast.db")}",
            ["Secrets:KeyPath"] = directory.File("data/secret.key"),
            ["Admin:Token"] = token,
            // Every start hashes a first admin's generated password: at the production 600,000 PBKDF2 iterations that is the
            // larger part of a host's start on two cores. The hash's strength is not what these tests are about.
            ["Admin:PasswordHashIterations"] = TestPasswordHashing.Iterations,
        };
        foreach (var (key, value) in settings) configuration[key] = value;
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Services.AddControl(builder.Configuration);
        // No test asks a real DNS server: names resolve through the fake (a public address unless it names a refused range).
        builder.Services.AddSingleton<Broadcast.Network.Outbound.IHostResolver>(Resolver);
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseControl();
        app.MapControlApi();
        map?.Invoke(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ControlApiHost(app, directory, new Uri(address), token);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        _directory.Dispose();
    }
}
