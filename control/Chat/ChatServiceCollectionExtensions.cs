using Broadcast.Control.Security;
using Broadcast.Network;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Chat;

/// <summary>
/// Live chat, reactions and moderation: the anonymous hub at <see cref="HubPath"/> and the admin routes under
/// <c>/api/channels/{id}/chat</c>. Register after <c>AddControl</c> (it uses the control database and the server
/// secret); map with <see cref="MapChat"/>.
/// </summary>
public static class ChatServiceCollectionExtensions
{
    public const string HubPath = "/chat/hub";

    /// <summary>Largest hub message a client may send: a message of the longest length, its name and JSON framing.</summary>
    public const long MaxHubMessageBytes = 32 * 1024;

    /// <summary>What the hub's transport buffers per connection, and so the largest long-polling send it takes.</summary>
    public const long MaxTransportBufferBytes = 64 * 1024;

    internal static IServiceCollection AddChat(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = ChatOptions.From(configuration);
        services.AddSingleton(options);
        services.AddSignalR().AddHubOptions<ChatHub>(o =>
        {
            o.MaximumReceiveMessageSize = MaxHubMessageBytes;
            o.MaximumParallelInvocationsPerClient = 1;
        });
        services.AddSingleton<IChatRepository, SqlChatRepository>();
        services.AddSingleton(sp =>
        {
            var s = sp.GetRequiredService<ControlSettings>();
            return new ChatIdentity(StreamKeyProtector.LoadSecret(s.SecretKey, s.SecretKeyPath));
        });
        services.AddSingleton<ChatRateLimiter>();
        services.AddSingleton(new ClientAddressSlots(options.MaxConnectionsPerAddress, options.MaxConnections));
        services.AddSingleton<IQuestionRepository, SqlQuestionRepository>();
        services.AddSingleton<QuestionVoteBatch>();
        services.AddSingleton<ChatRoomVersions>();
        services.AddSingleton(sp => new ChatService(sp.GetRequiredService<IChatRepository>(), sp.GetRequiredService<IQuestionRepository>(),
            sp.GetRequiredService<ChatRateLimiter>(), sp.GetRequiredService<ChatIdentity>(),
            sp.GetRequiredService<IChatFanout>(), options, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ChatService>>(),
            sp.GetRequiredService<ChatRoomVersions>()));
        services.AddSingleton<ChatQuestions>();
        services.AddSingleton(sp => new ChatGroupDelivery(sp.GetRequiredService<IHubContext<ChatHub>>(), options,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<ChatGroupDelivery>>()));
        var settings = ControlSettings.From(configuration);
        var fanout = options.Fanout ?? (settings.DatabaseKind is "postgres" or "postgresql" ? "postgres" : "local");
        if (fanout == "postgres")
        {
            services.AddSingleton(sp => new PostgresChatFanout(settings.DatabaseConnectionString, sp.GetRequiredService<ChatGroupDelivery>(),
                sp.GetRequiredService<ChatRoomVersions>(), sp.GetRequiredService<ILogger<PostgresChatFanout>>()));
            services.AddSingleton<IChatFanout>(sp => sp.GetRequiredService<PostgresChatFanout>());
            services.AddHostedService(sp => sp.GetRequiredService<PostgresChatFanout>());
        }
        else
        {
            services.AddSingleton<IChatFanout, LocalChatFanout>();
        }

        services.AddSingleton<ChatRetention>();
        services.AddHostedService(sp => sp.GetRequiredService<ChatRetention>());
        services.AddSingleton<ReactionAggregator>();
        services.AddHostedService(sp => sp.GetRequiredService<ReactionAggregator>());
        services.AddSingleton(sp => new ChatReaderWatch(sp.GetRequiredService<IHubContext<ChatHub>>(), options, sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<ChatReaderWatch>>(), sp.GetService<Playback.PlaybackAccessService>()));
        services.AddHostedService(sp => sp.GetRequiredService<ChatReaderWatch>());
        return services;
    }

    /// <summary>The chat hub (anonymous; moderators are recognised by the dashboard session) and the admin routes.</summary>
    internal static IEndpointRouteBuilder MapChat(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (!endpoints.ServiceProvider.GetRequiredService<ChatOptions>().Enabled) return endpoints;
        endpoints.MapHub<ChatHub>(HubPath, o =>
        {
            o.TransportMaxBufferSize = MaxTransportBufferBytes;
            o.ApplicationMaxBufferSize = MaxHubMessageBytes;
            // WebSockets and long polling; server-sent events buy nothing here.
            o.Transports = HttpTransportType.WebSockets | HttpTransportType.LongPolling;
        }).Add(endpoint => endpoint.RequestDelegate = new ChatConnectionGate(endpoint.RequestDelegate!,
            endpoints.ServiceProvider.GetRequiredService<ClientAddressSlots>(),
            endpoints.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger<ChatConnectionGate>()).InvokeAsync);
        endpoints.MapChatApi();
        return endpoints;
    }
}
