using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Serilog.Events;

namespace Broadcast.Server.Tests.Chat;

/// <summary>
/// A refused chat message is the chat working: 200 refused sends once added 205 error entries with stack traces
/// (SignalR logs every exception a hub method throws). Through the server's real log pipeline, a client that keeps
/// being refused costs the log one line a minute at Information, and no error.
/// </summary>
public sealed class ChatRefusalLogTests
{
    [Fact]
    public async Task Refused_messages_are_logged_once_per_connection_a_minute_and_never_as_errors()
    {
        string sink = "chat-refusals-" + Guid.NewGuid().ToString("N");
        await using var server = await InProcessServer.StartAsync(CapturedLogs.Arguments(sink));
        var channel = await server.CreateChannelAsync("Quiet chat");
        using (var off = server.Authorized(HttpMethod.Put, $"/api/channels/{channel.Id}/chat"))
        {
            off.Content = JsonContent.Create(new { mode = "off" });
            using var saved = await server.Http.SendAsync(off);
            Assert.True(saved.IsSuccessStatusCode, $"chat settings: {(int)saved.StatusCode}");
        }

        await using var viewer = await ChatHubClient.ConnectAsync(server);
        await viewer.InvokeAsync<JsonElement>("Join", channel.Slug, null, null);
        for (int i = 0; i < 20; i++)
        {
            var refused = await Assert.ThrowsAsync<HubException>(() => viewer.InvokeAsync<JsonElement>("Send", "Viewer", $"hello {i}"));
            Assert.Contains("The chat is off.", refused.Message, StringComparison.Ordinal);
        }

        // The hub answered every send before the last line is read: the refusals were all logged or counted by then.
        var events = CapturedLogs.Of(sink);
        Assert.DoesNotContain(events, e => e.Level >= LogEventLevel.Error);
        var line = Assert.Single(events, e => CapturedLogs.EventIdOf(e) == 7019);
        Assert.Equal(LogEventLevel.Information, line.Level);
        Assert.Null(line.Exception);
        Assert.Contains("The chat is off.", line.RenderMessage(), StringComparison.Ordinal);
    }
}
