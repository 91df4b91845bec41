using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
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

    /// <summary>Creates a channel named <paramref name="name"/> with the admin token; its id.</summary>
    public async Task<string> CreateChannelAsync(string name)
    {
        using var created = await Client.PostAsJsonAsync("/api/channels", new { name });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>Creates an API key with <paramref name="scope"/> (for <paramref name="channel"/> alone when named), valid 30 days; its token.</summary>
    public async Task<string> CreateKeyAsync(string scope, string? channel = null)
    {
        string expires = DateTimeOffset.UtcNow.AddDays(30).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        object body = channel is null
            ? new { name = "backend", scopes = new[] { scope }, expiresAt = expires }
            : new { name = "backend", scopes = new[] { scope }, expiresAt = expires, channels = new[] { channel } };
        using var response = await Client.PostAsJsonAsync("/api/keys", body);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;
    }

    /// <summary>A client of this host that sends <paramref name="token"/> as its bearer token.</summary>
    public HttpClient ClientWith(string token)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        _directory.Dispose();
    }
}
