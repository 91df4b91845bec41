using System.Net;
using Broadcast.Control.Chat;
using Microsoft.AspNetCore.SignalR.Client;

namespace Broadcast.Server.Tests.Chat;

/// <summary>A real SignalR client of the chat hub on the in-process server, with its own cookie jar (a signed-in session or none).</summary>
internal static class ChatHubClient
{
    public static async Task<HubConnection> ConnectAsync(InProcessServer server, CookieContainer? cookies = null)
    {
        var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(server.BaseAddress, ChatServiceCollectionExtensions.HubPath), o => o.Cookies = cookies ?? new CookieContainer())
            .Build();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await hub.StartAsync(timeout.Token);
        return hub;
    }
}
