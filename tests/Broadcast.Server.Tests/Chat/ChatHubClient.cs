using System.Net;
using System.Text.Json;
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

    /// <summary>Calls <paramref name="handle"/> for every <paramref name="method"/> event, alone or inside a batch (<see cref="ChatGroupDelivery"/>).</summary>
    public static void OnEvent(this HubConnection hub, string method, Action<JsonElement> handle)
    {
        hub.On<JsonElement>(method, handle);
        hub.On<JsonElement>(ChatGroupDelivery.BatchMethod, items =>
        {
            foreach (var item in items.EnumerateArray())
            {
                if (item.GetProperty("method").GetString() == method) handle(item.GetProperty("payload"));
            }
        });
    }
}
