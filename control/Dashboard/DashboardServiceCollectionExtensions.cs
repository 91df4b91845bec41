using System.Globalization;
using System.Threading.RateLimiting;
using Broadcast.Control.Dashboard.Live;
using Broadcast.Control.Dashboard.Schedule;
using Broadcast.Control.Security;
using Broadcast.Control.Security.ApiKeys;
using Broadcast.Refusals;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.ApplicationParts;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.FileProviders;

namespace Broadcast.Control.Dashboard;

/// <summary>
/// The admin dashboard (<c>/dashboard</c>, Razor Pages in control/Dashboard/Pages), the public watch page
/// (<c>/watch/{slug}</c>), the live-status SignalR hub and the dashboard's own static files (<c>/assets</c>).
/// Register after <c>AddControl</c>; in the pipeline call <see cref="UseDashboard"/> before authentication and
/// <see cref="MapDashboard"/> with the other endpoints.
/// </summary>
public static class DashboardServiceCollectionExtensions
{
    /// <summary>Where the dashboard's static files are served from.</summary>
    public const string AssetsPath = "/assets";

    internal static IServiceCollection AddDashboard(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        // The same setting as the API's sign-in limit (AddControl), so one knob governs both doors.
        var permitsPerMinute = ControlAuth.SignInPermitsPerMinute(configuration);

        var mvc = services.AddRazorPages(options =>
        {
            options.RootDirectory = "/Dashboard/Pages";
            // Every page needs an admin, but for the few a moderator account may use too (DashboardAuth.PolicyFor).
            // No API key opens a page, whatever its scopes: the dashboard is for people.
            options.Conventions.AddFolderApplicationModelConvention("/", page =>
            {
                page.EndpointMetadata.Add(new Microsoft.AspNetCore.Authorization.AuthorizeAttribute(DashboardAuth.PolicyFor(page.ViewEnginePath)));
                page.EndpointMetadata.Add(AdminOnlyMetadata.Instance);
            });
            options.Conventions.AllowAnonymousToPage("/SignIn");
            options.Conventions.AllowAnonymousToPage("/Watch");
            options.Conventions.AllowAnonymousToPage("/RoomJoin");
        });
        var assembly = typeof(DashboardAuth).Assembly;
        if (!mvc.PartManager.ApplicationParts.OfType<AssemblyPart>().Any(part => part.Assembly == assembly))
        {
            mvc.AddApplicationPart(assembly);
        }

        services.AddAntiforgery(options =>
        {
            options.Cookie.Name = "broadcast.af";
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.HeaderName = ControlAuth.AntiforgeryHeader;
        });
        services.AddSignalR();

        // The session cookie, the "admin" policy and the limiter's rejection answer come from AddControl; the
        // dashboard adds a POST-only limit for its own sign-in form so that viewing the form costs nothing.
        services.AddRateLimiter(options =>
        {
            foreach (var policy in new[] { DashboardAuth.SignInRateLimit, DashboardAuth.PasswordRateLimit })
            {
                options.AddPolicy(policy, context => HttpMethods.IsPost(context.Request.Method)
                    ? RateLimitPartition.GetFixedWindowLimiter(context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                        _ => new FixedWindowRateLimiterOptions { PermitLimit = permitsPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 })
                    : RateLimitPartition.GetNoLimiter("view"));
            }
        });

        services.TryAddSingleton<IDashboardSchedule, ServiceDashboardSchedule>();
        services.AddSingleton<LiveStatusMonitor>();
        services.AddSingleton<Pages.WatchReads>();
        services.AddHostedService(sp => sp.GetRequiredService<LiveStatusMonitor>());
        return services;
    }

    /// <summary>Security headers on dashboard and watch responses and the static files under <c>/assets</c>. Call before <c>UseControl</c>.</summary>
    internal static IApplicationBuilder UseDashboard(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.Use((context, next) =>
        {
            if (SecurityHeaders.Covers(context.Request.Path))
            {
                SecurityHeaders.Apply(context.Response);
            }

            return next(context);
        });

        var root = Path.Combine(AppContext.BaseDirectory, "wwwroot");
        if (Directory.Exists(root))
        {
            app.UseStaticFiles(new StaticFileOptions
            {
                RequestPath = AssetsPath,
                FileProvider = new PhysicalFileProvider(root),
                ContentTypeProvider = new FileExtensionContentTypeProvider(),
                // File names carry no version: revalidate (ETag) on every load so an upgrade is seen at once.
                OnPrepareResponse = ctx => ctx.Context.Response.Headers.CacheControl = "no-cache",
            });
        }

        return app;
    }

    /// <summary>Razor Pages of the dashboard and the watch page, the live hub, and <c>/</c> → <c>/dashboard</c>.</summary>
    internal static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapRazorPages();
        endpoints.MapHub<LiveStatusHub>("/dashboard/hub/live").RequireAuthorization(DashboardAuth.Policy)
            .AdminOnly();
        // Pages answer in HTML and the hub in SignalR's frames; the one minimal route goes under the error boundary as the API's do.
        endpoints.MapGroup("").WithRefusalBoundary().MapGet("/", (HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            return Results.Redirect("/dashboard");
        }).ExcludeFromDescription();
        return endpoints;
    }
}
