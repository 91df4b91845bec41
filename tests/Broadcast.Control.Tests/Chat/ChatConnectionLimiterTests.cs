using System.Net;
using System.Net.WebSockets;
using Broadcast.Control.Chat;
using Broadcast.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Tests.Chat;

public sealed class ChatConnectionLimiterTests
{
    [Fact]
    public void An_address_gets_its_cap_and_a_released_slot_back()
    {
        var limiter = new ChatConnectionLimiter(maxPerAddress: 2, maxTotal: 10);
        var a = IPAddress.Parse("203.0.113.7");
        Assert.Equal(ChatConnectionAdmission.Admitted, limiter.TryEnter(a));
        Assert.Equal(ChatConnectionAdmission.Admitted, limiter.TryEnter(a));
        Assert.Equal(ChatConnectionAdmission.AddressFull, limiter.TryEnter(a));
        // Another address is not affected.
        Assert.Equal(ChatConnectionAdmission.Admitted, limiter.TryEnter(IPAddress.Parse("203.0.113.8")));
        limiter.Release(a);
        Assert.Equal(ChatConnectionAdmission.Admitted, limiter.TryEnter(a));
        Assert.Equal(3, limiter.Open);
    }

    [Fact]
    public void The_node_cap_holds_across_addresses()
    {
        var limiter = new ChatConnectionLimiter(maxPerAddress: 5, maxTotal: 3);
        for (var i = 1; i <= 3; i++) Assert.Equal(ChatConnectionAdmission.Admitted, limiter.TryEnter(IPAddress.Parse($"198.51.100.{i}")));
        Assert.Equal(ChatConnectionAdmission.ServerFull, limiter.TryEnter(IPAddress.Parse("198.51.100.9")));
        limiter.Release(IPAddress.Parse("198.51.100.2"));
        Assert.Equal(ChatConnectionAdmission.Admitted, limiter.TryEnter(IPAddress.Parse("198.51.100.9")));
    }

    [Fact]
    public void An_ipv6_client_is_counted_by_its_slash_64_and_a_mapped_ipv4_as_itself()
    {
        var limiter = new ChatConnectionLimiter(maxPerAddress: 2, maxTotal: 100);
        Assert.Equal(ChatConnectionAdmission.Admitted, limiter.TryEnter(IPAddress.Parse("2001:db8:1:2::1")));
        Assert.Equal(ChatConnectionAdmission.Admitted, limiter.TryEnter(IPAddress.Parse("2001:db8:1:2:ffff::9")));
        // A new address inside the same /64 buys nothing.
        Assert.Equal(ChatConnectionAdmission.AddressFull, limiter.TryEnter(IPAddress.Parse("2001:db8:1:2:abcd::5")));
        Assert.Equal(ChatConnectionAdmission.Admitted, limiter.TryEnter(IPAddress.Parse("2001:db8:1:3::1")));

        Assert.Equal(ChatConnectionLimiter.Bucket(IPAddress.Parse("192.0.2.1")), ChatConnectionLimiter.Bucket(IPAddress.Parse("::ffff:192.0.2.1")));
        Assert.NotEqual(ChatConnectionLimiter.Bucket(IPAddress.Parse("0.0.0.1")), ChatConnectionLimiter.Bucket(IPAddress.Parse("::1")));
        Assert.NotEqual(ChatConnectionLimiter.Bucket(null), ChatConnectionLimiter.Bucket(IPAddress.Parse("::")));
    }

    [Fact]
    public void Releasing_an_address_that_holds_nothing_changes_nothing()
    {
        var limiter = new ChatConnectionLimiter(1, 1);
        limiter.Release(IPAddress.Loopback);
        Assert.Equal(0, limiter.Open);
        Assert.Equal(ChatConnectionAdmission.Admitted, limiter.TryEnter(IPAddress.Loopback));
    }

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
        var limiter = host.App.Services.GetRequiredService<ChatConnectionLimiter>();
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
