using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;

namespace Broadcast.TestSupport;

/// <summary>
/// A tiny Kestrel static server on 127.0.0.1:0 for the player pages (tests/players, with hls.js and dash.js
/// from its node_modules) and for VOD fixtures a test writes to disk. Each mount maps a URL prefix to a
/// folder. Sends CORS headers and no-cache so a page on this origin can fetch anything it serves.
/// </summary>
public sealed class StaticFileServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private StaticFileServer(WebApplication app, Uri baseUri)
    {
        _app = app;
        BaseUri = baseUri;
    }

    /// <summary>e.g. http://127.0.0.1:41234/ (with trailing slash).</summary>
    public Uri BaseUri { get; }

    public Uri Url(string relative) => new(BaseUri, relative.TrimStart('/'));

    /// <param name="mounts">URL prefix ("" for the root, or "media") → folder on disk.</param>
    public static async Task<StaticFileServer> StartAsync(IReadOnlyDictionary<string, string> mounts)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();

        var types = new FileExtensionContentTypeProvider();
        types.Mappings[".m3u8"] = "application/vnd.apple.mpegurl";
        types.Mappings[".mpd"] = "application/dash+xml";
        types.Mappings[".m4s"] = "video/iso.segment";
        types.Mappings[".mjs"] = "text/javascript";
        types.Mappings[".map"] = "application/json";

        app.Use(async (ctx, next) =>
        {
            ctx.Response.Headers.AccessControlAllowOrigin = "*";
            ctx.Response.Headers.CacheControl = "no-cache";
            await next(ctx).ConfigureAwait(false);
        });

        // Longest prefix first so "media" wins over the root mount.
        foreach (var (prefix, folder) in mounts.OrderByDescending(m => m.Key.Length))
        {
            var trimmed = prefix.Trim('/');
            app.UseStaticFiles(new StaticFileOptions
            {
                FileProvider = new PhysicalFileProvider(Path.GetFullPath(folder)),
                RequestPath = trimmed.Length == 0 ? PathString.Empty : new PathString("/" + trimmed),
                ContentTypeProvider = types,
                ServeUnknownFileTypes = true,
            });
        }

        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new StaticFileServer(app, new Uri(address.TrimEnd('/') + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
