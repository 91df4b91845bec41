using Broadcast.Control.Api;
using Broadcast.Control.Channels;
using Broadcast.Control.Chat;
using Broadcast.Control.Dashboard;
using Broadcast.Control.Playback;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control;

/// <summary>Which parts of the control plane a node runs; a node's roles decide (see the server's composition).</summary>
[Flags]
public enum ControlParts
{
    None = 0,

    /// <summary>Channels, stream keys, events and their schedule, recordings, playback keys: every node with the channel database.</summary>
    Database = 1,

    /// <summary>The admin API, the dashboard and watch page, audience chat (control role). Needs <see cref="Database"/>.</summary>
    AdminSurface = 2,

    /// <summary>Who may publish: the publish policy and channel leases (ingest role). Needs <see cref="Database"/>.</summary>
    PublishPolicy = 4,

    /// <summary>
    /// A node without the channel database (origin only): private playback from a control node's snapshot, unless
    /// <c>Playback:PublicOnly=true</c>. Registers <see cref="RemotePlaybackAccess"/> when it applies.
    /// </summary>
    RemotePlayback = 8,
}

/// <summary>The control plane's one <c>Add…</c> and one <c>Map…</c>: the composition root names the parts, nothing more.</summary>
public static class ControlComposition
{
    public static IServiceCollection AddControl(this IServiceCollection services, IConfiguration configuration, ControlParts parts)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        if (parts.HasFlag(ControlParts.Database)) services.AddControl(configuration);
        if (parts.HasFlag(ControlParts.AdminSurface))
        {
            services.AddDashboard(configuration);
            services.AddChat(configuration);
        }
        if (parts.HasFlag(ControlParts.PublishPolicy)) services.AddPublishPolicy(configuration);
        if (parts.HasFlag(ControlParts.RemotePlayback)) RemotePlaybackSettings.AddTo(services, configuration);
        return services;
    }

    /// <summary>
    /// The admin surface's middleware (static dashboard files, authentication except on the origin's paths,
    /// authorization, antiforgery, rate limits) and its endpoints (API, dashboard and watch pages, chat hub).
    /// Nothing for nodes without <see cref="ControlParts.AdminSurface"/>.
    /// </summary>
    public static WebApplication MapControl(this WebApplication app, ControlParts parts)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (!parts.HasFlag(ControlParts.AdminSurface)) return app;
        app.UseDashboard();
        app.UseControl();
        app.MapControlApi();
        app.MapDashboard();
        app.MapChat();
        return app;
    }
}
