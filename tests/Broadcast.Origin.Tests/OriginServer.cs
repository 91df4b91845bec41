using System.Net.Sockets;
using System.Text;
using Broadcast.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broadcast.Origin.Tests;

/// <summary>A real Kestrel origin on 127.0.0.1 with a free port, composed the way the server composes it.</summary>
public sealed class OriginServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OriginServer(WebApplication app, Uri baseAddress, ISegmentStore store)
    {
        _app = app;
        BaseAddress = baseAddress;
        Store = store;
        Client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri BaseAddress { get; }

    /// <summary>The store registered before AddOrigin (the cache wraps it).</summary>
    public ISegmentStore Store { get; }

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<OriginServer> StartAsync(ISegmentStore store, TimeProvider? time = null, IDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? services = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }

        builder.Services.AddSingleton(store);
        services?.Invoke(builder.Services);
        builder.Services.AddOrigin(builder.Configuration);

        WebApplication app = builder.Build();
        app.UseOrigin();
        Broadcast.Origin.Protection.ClearKeyLicenseEndpoint.MapClearKeyLicense(app);
        Broadcast.Origin.Steering.SteeringEndpoints.MapSteering(app, adminPolicy: null);
        await app.StartAsync();

        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new OriginServer(app, new Uri(address), store);
    }

    /// <summary>
    /// Sends <paramref name="target"/> byte for byte on a raw socket: HttpClient and Uri would normalise dot
    /// segments and escapes before they ever reach the server, hiding exactly what these tests attack with.
    /// Returns the status code.
    /// </summary>
    public async Task<int> SendRawAsync(string target)
    {
        using TcpClient tcp = new();
        await tcp.ConnectAsync(BaseAddress.Host, BaseAddress.Port);
        NetworkStream stream = tcp.GetStream();
        byte[] request = Encoding.Latin1.GetBytes($"GET {target} HTTP/1.1\r\nHost: {BaseAddress.Authority}\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(request);

        using CancellationTokenSource timeout = new(TimeSpan.FromSeconds(30));
        using MemoryStream response = new();
        await stream.CopyToAsync(response, timeout.Token);
        string head = Encoding.Latin1.GetString(response.GetBuffer(), 0, (int)response.Length);
        Assert.StartsWith("HTTP/1.1 ", head);
        return int.Parse(head.AsSpan(9, 3), provider: System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
