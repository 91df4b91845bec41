using Broadcast.Control.Channels;
using Broadcast.Control.Security;
using Broadcast.Control.Users;
using Broadcast.Ingest.Rtmp;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Broadcast.Server;

/// <summary>
/// Once the server listens, makes sure the default channel exists and prints what an operator needs to go
/// live: the RTMP server URL, the default channel's stream key, playback URLs and where the admin token is.
/// Printed to the console, never to the log files: the key is a secret. With <c>Logging:Format=json</c> it is one JSON
/// object like the log lines, so the console stays parseable.
/// </summary>
internal sealed class StartupBanner(
    IHostApplicationLifetime lifetime,
    IServer server,
    ServerRoles roles,
    IConfiguration configuration,
    TimeProvider time,
    IServiceProvider services) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource();
        using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(stoppingToken).ConfigureAwait(false);

        string http = HttpBase();
        var lines = new List<string> { "", "Broadcast is running (roles: " + roles + ")" };
        if (roles.Ingest && services.GetService<RtmpServer>() is { } rtmp)
        {
            var endpoint = await rtmp.Listening.WaitAsync(stoppingToken).ConfigureAwait(false);
            var channels = services.GetRequiredService<ChannelService>();
            var defaultChannel = await channels.EnsureDefaultChannelAsync(stoppingToken).ConfigureAwait(false);
            string host = new Uri(http).Host;
            // What the API gives out (Public:*) where the operator set it: behind a proxy, an edge or a container's
            // port mapping the bound address is not what encoders and viewers reach.
            lines.Add($"  RTMP server (OBS: Settings > Stream > Custom): {PublicBase("Public:RtmpBaseUrl") ?? $"rtmp://{host}:{endpoint.Port}/live"}");
            if (services.GetService<Broadcast.Ingest.Rtmps.RtmpsServer>() is { } rtmps)
                lines.Add("  RTMPS server (TLS, same stream keys):          " +
                    $"rtmps://{host}:{(await rtmps.Listening.WaitAsync(stoppingToken).ConfigureAwait(false)).Port}/live");
            lines.Add(defaultChannel.StreamKey is { } key
                ? $"  Stream key of channel '{defaultChannel.Channel.Name}':        {key}"
                : $"  Stream key of channel '{defaultChannel.Channel.Name}': cannot be decrypted with the current secret; rotate it through the API");
            if (services.GetService<Broadcast.Ingest.Srt.SrtServer>() is { LocalEndPoint: { } srt } && defaultChannel.StreamKey is { } srtKey)
                lines.Add("  SRT (MPEG-TS, OBS: Server field, key empty):   " +
                    $"{PublicBase("Public:SrtBaseUrl") ?? $"srt://{host}:{srt.Port}"}?streamid=#!::r=live/{srtKey},m=publish");
            string viewers = PublicBase("Public:HttpBaseUrl") ?? http;
            lines.Add($"  HLS:  {viewers}/live/{defaultChannel.Channel.Slug}/master.m3u8");
            lines.Add($"  DASH: {viewers}/live/{defaultChannel.Channel.Slug}/manifest.mpd");
        }
        if (roles.Control)
        {
            var token = services.GetRequiredService<AdminToken>();
            lines.Add($"  Admin API: {http}/api/channels (Authorization: Bearer <token>)");
            lines.Add(token.FilePath is { } path
                ? $"  Admin token: in {Path.GetFullPath(path)}"
                : "  Admin token: as configured in Admin:Token");
        }
        // Printed once, whatever the roles (any node with the database may be the one that created the user): the
        // password exists only in memory until here, and only on the start that created the user.
        if (services.GetService<FirstAdminCredentials>() is { } firstAdmin && firstAdmin.TakePassword() is { } password)
            lines.Add($"  Dashboard sign-in (shown once, change it after signing in): user '{firstAdmin.Name}', password {password}");
        lines.Add($"  Health: {http}/healthz  Metrics: {http}/metrics");
        lines.Add("");
        string banner = ServerLogging.ConsoleText(configuration, string.Join(Environment.NewLine, lines), typeof(StartupBanner).FullName!,
            time.GetUtcNow());
        await Console.Out.WriteLineAsync(banner).ConfigureAwait(false);
    }

    private string? PublicBase(string key)
        => configuration[key] is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim().TrimEnd('/') : null;

    private string HttpBase()
    {
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://localhost:8080";
        // A wildcard bind is reachable as localhost on this machine; print something a browser can open.
        return address.Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal)
                      .Replace("://[::]", "://localhost", StringComparison.Ordinal)
                      .Replace("://+", "://localhost", StringComparison.Ordinal)
                      .Replace("://*", "://localhost", StringComparison.Ordinal)
                      .TrimEnd('/');
    }
}
