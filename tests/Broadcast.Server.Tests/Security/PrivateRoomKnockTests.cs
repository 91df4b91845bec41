using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Broadcast.Server.Tests.Security;

/// <summary>
/// A private channel's room is behind the channel's own token, as its stream is: a knock without the token (or a host's
/// invite) is answered as a knock on a channel that does not exist, so the green room tells nobody which private
/// channels exist, and nobody who cannot watch the show can ask to join it.
/// </summary>
public sealed class PrivateRoomKnockTests
{
    private static StringContent Knock(string name, string? invite = null) =>
        new(JsonSerializer.Serialize(new { name, invite }), Encoding.UTF8, "application/json");

    [Fact]
    public async Task A_private_room_takes_knocks_with_its_token_or_an_invite_and_answers_anyone_else_as_no_channel()
    {
        await using var server = await InProcessServer.StartAsync();
        var open = await server.CreateChannelAsync("Open room");
        var closed = await server.CreateChannelAsync("Closed room", privatePlayback: true);

        using (var unknown = await server.Http.PostAsync("/room/no-such-channel/knocks", Knock("Eve")))
        using (var anonymous = await server.Http.PostAsync($"/room/{closed.Slug}/knocks", Knock("Eve")))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, anonymous.StatusCode);
            // The same answer (its request's trace id aside): nothing tells the two apart.
            static string Said(string problem)
            {
                var root = JsonDocument.Parse(problem).RootElement;
                return $"{root.GetProperty("status").GetInt32()} {root.GetProperty("title").GetString()}: {root.GetProperty("detail").GetString()}";
            }
            Assert.Equal(Said(await unknown.Content.ReadAsStringAsync()), Said(await anonymous.Content.ReadAsStringAsync()));
        }

        using (var forged = new HttpRequestMessage(HttpMethod.Post, $"/room/{closed.Slug}/knocks") { Content = Knock("Eve") })
        {
            forged.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-a-token");
            using var refused = await server.Http.SendAsync(forged);
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        }

        using (var publicKnock = await server.Http.PostAsync($"/room/{open.Slug}/knocks", Knock("Ann")))
            Assert.Equal(HttpStatusCode.Created, publicKnock.StatusCode);

        // With the channel's playback token (as a bearer token, or ?token= from a watch link): the knock is taken.
        using var mint = server.Authorized(HttpMethod.Post, $"/api/channels/{closed.Id}/playback-tokens");
        mint.Content = System.Net.Http.Json.JsonContent.Create(new { expiresInSeconds = 600 });
        using var minted = await server.Http.SendAsync(mint);
        Assert.True(minted.IsSuccessStatusCode, $"mint: {(int)minted.StatusCode}");
        string token = JsonDocument.Parse(await minted.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;
        using (var withToken = new HttpRequestMessage(HttpMethod.Post, $"/room/{closed.Slug}/knocks") { Content = Knock("Bob") })
        {
            withToken.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var taken = await server.Http.SendAsync(withToken);
            Assert.Equal(HttpStatusCode.Created, taken.StatusCode);
        }

        using (var fromLink = await server.Http.PostAsync($"/room/{closed.Slug}/knocks?token={Uri.EscapeDataString(token)}", Knock("Cy")))
            Assert.Equal(HttpStatusCode.Created, fromLink.StatusCode);

        // A host's invite opens it too, without the token.
        using var invite = server.Authorized(HttpMethod.Post, $"/api/rooms/{closed.Slug}/invites");
        using var invited = await server.Http.SendAsync(invite);
        Assert.Equal(HttpStatusCode.Created, invited.StatusCode);
        string inviteToken = JsonDocument.Parse(await invited.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;
        using (var guest = await server.Http.PostAsync($"/room/{closed.Slug}/knocks", Knock("Dee", inviteToken)))
            Assert.Equal(HttpStatusCode.Created, guest.StatusCode);
    }
}
