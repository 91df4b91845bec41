using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broadcast.TestSupport;

/// <summary>One request an <see cref="LoopbackHttpEndpoint"/> received: its method, path and query, headers and body.</summary>
public sealed record ReceivedRequest(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string BodyText => System.Text.Encoding.UTF8.GetString(Body);
}

/// <summary>
/// A platform's endpoint for the server to call (a publish callback, a key set, a webhook receiver): Kestrel on
/// 127.0.0.1:0, every request recorded (bodies up to 1 MiB) and answered by the test's handler, which it may change
/// while the test runs. Hanging or failing is the handler's to choose.
/// </summary>
public sealed class LoopbackHttpEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedRequest> _received = new();
    private volatile Func<ReceivedRequest, HttpResponse, CancellationToken, Task> _handler;

    private LoopbackHttpEndpoint(WebApplication app, Func<ReceivedRequest, HttpResponse, CancellationToken, Task> handler)
    {
        _app = app;
        _handler = handler;
    }

    /// <summary>e.g. http://127.0.0.1:41234/ (with trailing slash).</summary>
    public Uri BaseUri { get; private set; } = null!;

    public Uri Url(string relative) => new(BaseUri, relative.TrimStart('/'));

    /// <summary>Every request so far, in arrival order.</summary>
    public IReadOnlyList<ReceivedRequest> Received => [.. _received];

    /// <summary>Answers from now on with <paramref name="handler"/>.</summary>
    public void Answer(Func<ReceivedRequest, HttpResponse, CancellationToken, Task> handler) => _handler = handler;

    /// <summary>Answers from now on with a fixed status and body.</summary>
    public void Answer(int status, string body = "", string contentType = "text/plain") =>
        Answer(async (_, response, token) =>
        {
            response.StatusCode = status;
            response.ContentType = contentType;
            if (body.Length > 0) await response.WriteAsync(body, token);
        });

    public static async Task<LoopbackHttpEndpoint> StartAsync(Func<ReceivedRequest, HttpResponse, CancellationToken, Task>? handler = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            k.Limits.MaxRequestBodySize = 1024 * 1024;
        });
        var app = builder.Build();
        var endpoint = new LoopbackHttpEndpoint(app, handler ?? ((_, response, _) =>
        {
            response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        }));
        app.Run(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            var request = new ReceivedRequest(context.Request.Method, context.Request.Path + context.Request.QueryString, headers, body.ToArray());
            endpoint._received.Enqueue(request);
            await endpoint._handler(request, context.Response, context.RequestAborted);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        endpoint.BaseUri = new Uri(address.TrimEnd('/') + "/");
        return endpoint;
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}
