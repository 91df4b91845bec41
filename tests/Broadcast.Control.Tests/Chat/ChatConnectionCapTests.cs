using System.Net;
using System.Net.WebSockets;
using Broadcast.Control.Chat;
using Broadcast.Network;
using Broadcast.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Tests.Chat;

public sealed class ChatConnectionCapTests
{
    /// <summary>Real WebSocket connections to the hub on loopback: the cap refuses the next one with 429 before the upgrade.</summary>
    [Fact]
    public async Task The_hub_refuses_a_websocket_past_the_address_cap_and_admits_one_when_a_slot_frees()
    {
        var settings = new Dictionary<string, string?> { ["Chat:MaxConnectionsPerAddress"] = "2" };
        await using var host = await ControlApiHost.StartAsync("chat-cap-admin-token-0123456789abcdef", settings,
            services => services.AddChat(new ConfigurationBuilder().AddInMemoryCollection(settings).Build()),
            app => app.MapChat());
        var hub = new UriBuilder(host.BaseAddress) { Scheme = "ws", Path = ChatServiceCollectionExtensions.HubPath }.Uri;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        using var first = await ConnectAsync(hub, timeout.Token);
        using var second = await ConnectAsync(hub, timeout.Token);
        using var refused = new ClientWebSocket { Options = { CollectHttpResponseDetails = true } };
        await Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(hub, timeout.Token));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.HttpStatusCode);

        await first.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
        var limiter = host.App.Services.GetRequiredService<ClientAddressSlots>();
        await WaitFor.ConditionAsync(() => limiter.Open == 1, TimeSpan.FromSeconds(20), "the closed connection's slot to be released");
        using var third = await ConnectAsync(hub, timeout.Token);
        Assert.Equal(WebSocketState.Open, third.State);
    }

    private static async Task<ClientWebSocket> ConnectAsync(Uri hub, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(hub, cancellationToken);
        return socket;
    }
}
