using Broadcast.Control.Api;
using Broadcast.Control.Channels;
using Broadcast.Control.Events;
using Broadcast.Control.Recordings;
using Broadcast.Control.Persistence;
using Broadcast.Control.Playback;
using Broadcast.Control.Scheduling;
using Broadcast.Control.Security;
using Broadcast.Control.Security.DataProtection;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Options;
using System.Threading.RateLimiting;
using Broadcast.Control.Users;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Broadcast.Control;

public static class ControlServiceCollectionExtensions
{
    /// <summary>
    /// Registers the control plane: database (migrated at start), channel service, stream-key
    /// protector, admin token, the "AdminBearer" scheme and the "admin" policy. Map the routes with
    /// <see cref="ControlEndpoints.MapControlApi"/>. Replace <see cref="IChannelLiveStatus"/> to report live state.
    /// </summary>
    internal static IServiceCollection AddControl(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        var settings = ControlSettings.From(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(settings);
        services.AddSingleton(_ => ControlDatabase.Create(settings.DatabaseKind, settings.DatabaseConnectionString));
        services.AddSingleton<IChannelRepository, SqlChannelRepository>();
        // Where pull sources and restream destinations may point (Outbound:AllowedHosts, Outbound:AllowedNetworks).
        services.AddOutboundGuard(configuration);
        services.AddSingleton(_ => new StreamKeyProtector(StreamKeyProtector.LoadSecret(settings.SecretKey, settings.SecretKeyPath)));
        services.AddSingleton(_ => new AdminToken(settings.AdminToken, settings.AdminTokenPath));
        // Checked here, not at first use: a bad node token fails the start.
        var nodeToken = PlaybackNodeToken.From(settings.PlaybackNodeToken, settings.AdminToken);
        services.AddSingleton(nodeToken);
        services.AddSingleton<ChannelService>();
        // The built-in ClearKey provider's keys, made per broadcast and answered by the license endpoint (docs/protection.md).
        services.AddSingleton<Protection.ContentKeyStore>();
        services.AddSingleton<IEventRepository, SqlEventRepository>();
        services.AddSingleton<IRecordingRepository, SqlRecordingRepository>();
        services.AddSingleton<EventService>();
        services.AddSingleton<EventRecordingPolicy>();
        // Every node hears of a channel's rule changes made on any node (EventWindowEnforcer acts on them where streams are).
        if (settings.DatabaseKind.Trim().ToLowerInvariant() is "postgres" or "postgresql")
        {
            services.AddSingleton(sp => new PostgresPublishRuleChanges(settings.DatabaseConnectionString,
                sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<PostgresPublishRuleChanges>>()));
            services.AddSingleton<IPublishRuleChanges>(sp => sp.GetRequiredService<PostgresPublishRuleChanges>());
            services.AddHostedService(sp => sp.GetRequiredService<PostgresPublishRuleChanges>());
        }
        else
        {
            services.AddSingleton<IPublishRuleChanges, LocalPublishRuleChanges>();
        }
        services.AddSingleton<Restream.IDestinationRepository, Restream.SqlDestinationRepository>();
        services.TryAddSingleton<Restream.IDestinationLiveStatus, Restream.NoDestinationLiveStatus>();
        services.AddSingleton<Restream.DestinationService>();
        services.AddSingleton<RecordingService>();
        services.TryAddSingleton<IChannelStreamPresence, NoStreamPresence>();
        services.TryAddSingleton<IBroadcastTerminator, PresenceBroadcastTerminator>();
        services.TryAddSingleton<Breaks.IAdBreakInserter, Breaks.NoAdBreakInserter>();
        services.TryAddSingleton<Protection.IProtectionKeyCheck, Protection.NoProtectionKeyCheck>();
        services.TryAddSingleton<IRecordingMedia, NoRecordingMedia>();
        services.AddSingleton<Clips.IClipRepository, Clips.SqlClipRepository>();
        services.TryAddSingleton<Clips.IClipMedia, Clips.NoClipMedia>();
        services.AddSingleton<Clips.ClipService>();
        services.TryAddSingleton<IChannelMedia, NoChannelMedia>();
        services.AddSingleton<ChannelDeletion>();
        services.AddSingleton<PublicUrls>();
        services.TryAddSingleton<IChannelLiveStatus, OfflineChannelLiveStatus>();
        services.AddHostedService<ControlStartup>();
        // After ControlStartup: the delivery worker reads a migrated outbox.
        Webhooks.WebhookServiceCollectionExtensions.AddWebhooks(services, configuration);
        // After ControlStartup: the audience kept per broadcast (its sampler runs where the host adds an IAudienceSource).
        Analytics.AnalyticsServiceCollectionExtensions.AddAudienceAnalytics(services, configuration);
        // After ControlStartup: private channels and signing keys are read from a migrated database.
        services.AddPrivatePlayback(configuration);
        // After ControlStartup: the schedule is derived from a migrated events table.
        services.AddEventScheduling(settings);
        Sources.PullSourceServiceCollectionExtensions.AddPullSources(services);
        Programs.ProgramServiceCollectionExtensions.AddPrograms(services);

        services.AddSingleton<IAdminUserRepository, SqlAdminUserRepository>();
        services.AddSingleton<FirstAdminCredentials>();
        services.AddSingleton<AdminUserService>();
        services.AddSingleton(sp => new AccountSignInGuard(sp.GetService<TimeProvider>() ?? TimeProvider.System));
        services.AddSingleton<AdminSessions>();
        services.AddSingleton<Security.ApiKeys.IApiKeyRepository, Security.ApiKeys.SqlApiKeyRepository>();
        services.AddSingleton<Security.ApiKeys.ApiKeyService>();
        services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationHandler, Security.ApiKeys.AdminAccessHandler>();
        services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationMiddlewareResultHandler,
            Security.ApiKeys.ApiKeyForbiddenResultHandler>();
        // Session cookies and antiforgery tokens: one key ring in the database for every control node, each key
        // encrypted under the server secret (not per node, not in plain text on disk).
        services.AddSingleton(_ => new DataProtectionKeyCipher(StreamKeyProtector.LoadSecret(settings.SecretKey, settings.SecretKeyPath)));
        services.AddSingleton<SqlXmlRepository>();
        services.AddDataProtection().SetApplicationName("broadcast");
        services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(sp => new ConfigureOptions<KeyManagementOptions>(options =>
        {
            options.XmlRepository = sp.GetRequiredService<SqlXmlRepository>();
            options.XmlEncryptor = new ServerSecretXmlEncryptor(sp.GetRequiredService<DataProtectionKeyCipher>());
        }));
        services.AddOpenApi();
        services.AddAntiforgery(options => options.HeaderName = ControlAuth.AntiforgeryHeader);

        services.AddAuthentication(ControlAuth.AdminScheme)
            .AddScheme<AuthenticationSchemeOptions, AdminBearerAuthenticationHandler>(ControlAuth.BearerScheme, displayName: null, _ => { })
            .AddScheme<AuthenticationSchemeOptions, PlaybackNodeAuthenticationHandler>(ControlAuth.PlaybackNodeScheme, displayName: null, _ => { })
            .AddScheme<AuthenticationSchemeOptions, Security.ApiKeys.ApiKeyAuthenticationHandler>(ControlAuth.ApiKeyScheme, displayName: null,
                _ => { })
            .AddCookie(ControlAuth.CookieScheme, options =>
            {
                options.Cookie.Name = ControlAuth.SessionCookieName;
                options.Cookie.HttpOnly = true;
                // Strict: the session never rides on a cross-site request; the antiforgery token is the second line.
                options.Cookie.SameSite = SameSiteMode.Strict;
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.ExpireTimeSpan = TimeSpan.FromHours(12);
                options.SlidingExpiration = true;
                options.LoginPath = ControlAuth.SignInPath;
                // Only a moderator account is ever denied a dashboard page: send it to the one it may use.
                options.AccessDeniedPath = ControlAuth.ModerationPath;
                // Sign-out and password changes end every session of the user (see AdminSessions).
                options.Events.OnValidatePrincipal = context
                    => context.HttpContext.RequestServices.GetRequiredService<AdminSessions>().ValidateAsync(context);
                options.Events.OnRedirectToLogin = context => IsApi(context.Request)
                    ? WriteProblemAsync(context.HttpContext, StatusCodes.Status401Unauthorized, "Unauthorized",
                        "Send the admin token as 'Authorization: Bearer {token}' or sign in to the dashboard.")
                    : RedirectAsync(context);
                options.Events.OnRedirectToAccessDenied = context => IsApi(context.Request)
                    ? WriteProblemAsync(context.HttpContext, StatusCodes.Status403Forbidden, "Forbidden", "This account may not use the admin API.")
                    : RedirectAsync(context);
            })
            // One scheme for the "admin" policy: a request with an Authorization header is judged by the
            // bearer token alone (an API key's by the API key scheme), any other by the session cookie.
            .AddPolicyScheme(ControlAuth.AdminScheme, displayName: null, options => options.ForwardDefaultSelector = context =>
                context.Request.Headers.Authorization is { Count: > 0 } authorization
                    ? IsApiKey(authorization) ? ControlAuth.ApiKeyScheme : ControlAuth.BearerScheme
                    : ControlAuth.CookieScheme);
        services.AddAuthorizationBuilder()
            // An admin may do anything; an API key what its scopes and channels allow (AdminAccessHandler).
            .AddPolicy(ControlAuth.AdminPolicy, policy => policy
                .AddAuthenticationSchemes(ControlAuth.AdminScheme)
                .RequireAuthenticatedUser()
                .AddRequirements(Security.ApiKeys.AdminAccessRequirement.Instance))
            .AddPolicy(ControlAuth.ChatModerationPolicy, policy => policy
                .AddAuthenticationSchemes(ControlAuth.AdminScheme)
                .RequireAuthenticatedUser()
                .RequireRole(ControlAuth.AdminRole, ControlAuth.ModeratorRole));

        var permits = ControlAuth.SignInPermitsPerMinute(configuration);
        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = (context, _) => new ValueTask(WriteProblemAsync(context.HttpContext, StatusCodes.Status429TooManyRequests,
                "Too many sign-in attempts", $"At most {permits} sign-in attempts a minute from one address; wait and try again."));
            // Per client address (an IPv6 client by its /64, which it can walk freely): a password guesser gets a handful of
            // tries a minute, others are unaffected. Per account, AccountSignInGuard.
            options.AddPolicy(ControlAuth.SignInRateLimit, context => RateLimitPartition.GetFixedWindowLimiter(
                Broadcast.Network.ClientAddressSlots.Bucket(context.Connection.RemoteIpAddress),
                _ => new FixedWindowRateLimiterOptions { PermitLimit = permits, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
        });
        return services;
    }

    /// <summary>
    /// Authentication, authorization, the antiforgery check of cookie-authenticated unsafe requests and the sign-in rate
    /// limiter, in that order. Call before mapping endpoints.
    /// </summary>
    internal static IApplicationBuilder UseControl(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // The origin's paths (/live, /time) carry no admin credentials. Their GETs and HEADs are answered before this
        // (the origin's UseOrigin); their preflights, WHEP under /live and a node without the origin role still come
        // here, and authenticating them would run the admin scheme's cookie handler for nothing. Endpoints that need
        // the admin policy authenticate through the policy's own scheme anyway. A UseWhen branch's properties are
        // copy-on-write, so the marker WebApplication looks for is set on the main builder too; without it
        // WebApplication would add authentication again in front of the whole pipeline (including /live).
        app.UseWhen(static context => !IsOriginPath(context.Request.Path), static branch => branch.UseAuthentication());
        app.Properties[AuthenticationMiddlewareSetKey] = true;
        app.UseAuthorization();
        app.UseMiddleware<CookieAntiforgeryMiddleware>();
        app.UseRateLimiter();
        return app;
    }

    // The key WebApplication (and UseAuthentication) use to record that authentication is in the pipeline.
    private const string AuthenticationMiddlewareSetKey = "__AuthenticationMiddlewareSet";

    /// <summary>Public media served by the origin: no admin authentication runs for these.</summary>
    public static bool IsOriginPath(PathString path) =>
        path.StartsWithSegments("/live", StringComparison.Ordinal) || path.StartsWithSegments("/time", StringComparison.Ordinal);

    private static bool IsApiKey(Microsoft.Extensions.Primitives.StringValues authorization) =>
        authorization.Count == 1 && authorization[0] is { } value && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
        && Security.ApiKeys.ApiKeyService.LooksLikeKey(value.AsSpan("Bearer ".Length).TrimStart());

    private static bool IsApi(HttpRequest request) => request.Path.StartsWithSegments("/api", StringComparison.Ordinal);

    private static Task RedirectAsync(RedirectContext<CookieAuthenticationOptions> context)
    {
        context.Response.Redirect(context.RedirectUri);
        return Task.CompletedTask;
    }

    private static Task WriteProblemAsync(HttpContext context, int status, string title, string detail)
    {
        if (status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"broadcast\"";
        }

        return Results.Problem(statusCode: status, title: title, detail: detail).ExecuteAsync(context);
    }
}

/// <summary>
/// Brings the schema up to date and loads the secrets before the server accepts requests, so a bad
/// database or secret fails the start instead of the first publish.
/// </summary>
internal sealed class ControlStartup(ControlDatabase database, StreamKeyProtector protector, AdminToken token, AdminUserService users)
    : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _ = protector;
        _ = token;
        await database.MigrateAsync(cancellationToken).ConfigureAwait(false);
        await users.EnsureFirstAdminAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
