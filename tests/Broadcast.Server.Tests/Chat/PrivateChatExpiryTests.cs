using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Broadcast.Server.Tests.Chat;

/// <summary>A private channel's chat holds a viewer only as long as their viewing token: at its expiry the connection closes.</summary>
public sealed class PrivateChatExpiryTests
{
    [Fact]
    public async Task A_viewer_leaves_a_private_chat_when_their_viewing_token_expires_and_cannot_rejoin_with_it()
    {
        await using var server = await InProcessServer.StartAsync();
        var create = server.Authorized(HttpMethod.Post, "/api/channels");
        create.Content = JsonContent.Create(new { name = "private chat", privatePlayback = true });
        using var created = await server.Http.SendAsync(create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var channel = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        var (id, slug) = (channel.GetProperty("id").GetString()!, channel.GetProperty("slug").GetString()!);

        string longToken = await MintAsync(server, id, 3600);
        string shortToken = await MintAsync(server, id, 3);

        await using var staying = await ChatHubClient.ConnectAsync(server);
        await staying.InvokeAsync<JsonElement>("Join", slug, null, longToken);
        await using var leaving = await ChatHubClient.ConnectAsync(server);
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        leaving.Closed += _ =>
        {
            closed.TrySetResult();
            return Task.CompletedTask;
        };
        await leaving.InvokeAsync<JsonElement>("Join", slug, null, shortToken);

        // Closed by the server at expiry (3 s), well inside the bound; the viewer with a valid token stays.
        await closed.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HubConnectionState.Connected, staying.State);

        await using var again = await ChatHubClient.ConnectAsync(server);
        var refused = await Assert.ThrowsAsync<HubException>(() => again.InvokeAsync<JsonElement>("Join", slug, null, shortToken));
        Assert.Contains("no such channel", refused.Message, StringComparison.Ordinal);
    }

    private static async Task<string> MintAsync(InProcessServer server, string channelId, int seconds)
    {
        var request = server.Authorized(HttpMethod.Post, $"/api/channels/{channelId}/playback-tokens");
        request.Content = JsonContent.Create(new { expiresInSeconds = seconds });
        using var response = await server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;
    }
}
