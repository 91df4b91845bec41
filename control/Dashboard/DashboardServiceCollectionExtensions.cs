using System.Globalization;
using System.Threading.RateLimiting;
using Broadcast.Control.Dashboard.Live;
using Broadcast.Control.Dashboard.Schedule;
using Broadcast.Control.Security;
using Microsoft.AspNetCore.Authentication.Cookies;
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

    public static IServiceCollection AddDashboard(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var permitsPerMinute = int.TryParse(configuration["Dashboard:SignInAttemptsPerMinute"], NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p > 0 ? p : 10;

        var mvc = services.AddRazorPages(options =>
        {
            options.RootDirectory = "/Dashboard/Pages";
            options.Conventions.AuthorizeFolder("/", DashboardAuth.Policy);
            options.Conventions.AllowAnonymousToPage("/SignIn");
            options.Conventions.AllowAnonymousToPage("/Watch");
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
            options.HeaderName = "X-CSRF-TOKEN";
        });
        services.AddSignalR();

        services.AddAuthentication().AddCookie(DashboardAuth.CookieScheme, options =>
        {
            options.Cookie.Name = "broadcast.session";
            options.Cookie.HttpOnly = true;
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.ExpireTimeSpan = TimeSpan.FromHours(8);
            options.SlidingExpiration = true;
            options.LoginPath = DashboardAuth.SignInPath;
            options.AccessDeniedPath = DashboardAuth.SignInPath;
            options.Events.OnRedirectToLogin = context =>
            {
                // Scripts (the hub, fetch handlers) get a status code, people get the sign-in page.
                if (context.Request.Path.StartsWithSegments("/dashboard/hub") || context.Request.Headers.Accept.ToString().Contains("application/json", StringComparison.Ordinal))
                {
                    context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                }
                else
                {
                    context.Response.Redirect(context.RedirectUri);
                }

                return Task.CompletedTask;
            };
        });
        services.AddAuthorizationBuilder().AddPolicy(DashboardAuth.Policy, policy => policy
            .AddAuthenticationSchemes(DashboardAuth.CookieScheme)
            .RequireAuthenticatedUser()
            .RequireRole(ControlAuth.AdminRole));

        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = async (context, cancellationToken) =>
            {
                context.HttpContext.Response.ContentType = "text/plain; charset=utf-8";
                context.HttpContext.Response.Headers.RetryAfter = "60";
                await context.HttpContext.Response.WriteAsync("Too many sign-in attempts. Wait a minute and try again.\n", cancellationToken).ConfigureAwait(false);
            };
            // Per client address, POSTs only: viewing the form is free, guessing passwords is not.
            options.AddPolicy(DashboardAuth.SignInRateLimit, context => HttpMethods.IsPost(context.Request.Method)
                ? RateLimitPartition.GetFixedWindowLimiter(context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                    _ => new FixedWindowRateLimiterOptions { PermitLimit = permitsPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 })
                : RateLimitPartition.GetNoLimiter("view"));
        });

        services.TryAddSingleton<IDashboardSignIn, AdminTokenSignIn>();
        services.TryAddSingleton<IDashboardSchedule, InMemoryDashboardSchedule>();
        services.AddSingleton<LiveStatusMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<LiveStatusMonitor>());
        return services;
    }

    /// <summary>Security headers on dashboard and watch responses, the static files under <c>/assets</c>, the sign-in rate limiter.</summary>
    public static IApplicationBuilder UseDashboard(this IApplicationBuilder app)
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

        app.UseRateLimiter();
        return app;
    }

    /// <summary>Razor Pages of the dashboard and the watch page, the live hub, and <c>/</c> → <c>/dashboard</c>.</summary>
    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapRazorPages();
        endpoints.MapHub<LiveStatusHub>("/dashboard/hub/live").RequireAuthorization(DashboardAuth.Policy);
        endpoints.MapGet("/", (HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            return Results.Redirect("/dashboard");
        }).ExcludeFromDescription();
        return endpoints;
    }
}
