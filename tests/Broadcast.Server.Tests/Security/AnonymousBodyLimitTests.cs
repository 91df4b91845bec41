using System.Net;
using System.Text;

namespace Broadcast.Server.Tests.Security;

/// <summary>
/// The live room's anonymous JSON routes took any body up to Kestrel's default (28.6 MB), buffered by the JSON binder
/// before the handler ran: a knock or a subscription is a name, an invite or an id. Their cap applies before the body is
/// read, with or without a Content-Length.
/// </summary>
public sealed class AnonymousBodyLimitTests
{
    [Theory]
    [InlineData("knocks", true)]
    [InlineData("knocks", false)]
    [InlineData("subscriptions", true)]
    [InlineData("subscriptions", false)]
    public async Task A_room_json_body_over_its_cap_is_refused_413(string route, bool withLength)
    {
        await using var server = await InProcessServer.StartAsync();
        var channel = await server.CreateChannelAsync("Room limits");
        string big = "{\"name\":\"" + new string('a', 100 * 1024) + "\"}";
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/room/{channel.Slug}/{route}") { Content = withLength ? new StringContent(big, Encoding.UTF8, "application/json") : new ChunkedJson(big) };
        using var response = await server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);

        // A knock of the usual size still reaches the room.
        using var small = await server.Http.PostAsync($"/room/{channel.Slug}/knocks", new StringContent("{\"name\":\"Ada\"}", Encoding.UTF8, "application/json"));
        Assert.NotEqual(HttpStatusCode.RequestEntityTooLarge, small.StatusCode);
    }

    /// <summary>
    /// The chat hub's HTTP routes read a body up to Kestrel's default: a negotiate answered 200 after about 28 MB, and a
    /// long-polling send held a chunked body for seconds. Negotiation takes no body; a send takes one transport buffer.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_chat_hub_body_over_its_cap_is_refused_413(bool withLength)
    {
        await using var server = await InProcessServer.StartAsync();
        string big = new('a', 200 * 1024);
        using (var negotiate = new HttpRequestMessage(HttpMethod.Post, "/chat/hub/negotiate?negotiateVersion=1")
        {
            Content = withLength ? new StringContent(big, Encoding.UTF8, "application/json") : new ChunkedJson(big),
        })
        using (var refused = await server.Http.SendAsync(negotiate))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        }

        // An empty negotiate, as SignalR's clients send it, is answered; a long-polling send on its connection past one
        // transport buffer is refused before it is read.
        using var answered = await server.Http.PostAsync("/chat/hub/negotiate?negotiateVersion=1", content: null);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        using var body = System.Text.Json.JsonDocument.Parse(await answered.Content.ReadAsStringAsync());
        string id = body.RootElement.GetProperty("connectionToken").GetString()!;
        // The first poll makes the connection a long-polling one (answered at once), as SignalR's client starts it.
        using (var poll = await server.Http.GetAsync($"/chat/hub?id={Uri.EscapeDataString(id)}"))
        {
            Assert.Equal(HttpStatusCode.OK, poll.StatusCode);
        }

        using (var handshake = await server.Http.PostAsync($"/chat/hub?id={Uri.EscapeDataString(id)}",
            new StringContent("{\"protocol\":\"json\",\"version\":1}\u001e", Encoding.UTF8, "text/plain")))
        {
            Assert.Equal(HttpStatusCode.OK, handshake.StatusCode);
        }

        using var send = new HttpRequestMessage(HttpMethod.Post, $"/chat/hub?id={Uri.EscapeDataString(id)}")
        {
            Content = withLength ? new StringContent(big, Encoding.UTF8, "application/json") : new ChunkedJson(big),
        };
        using var sent = await server.Http.SendAsync(send);
        // SignalR reads a send's body itself and answers a body it could not read (here: past the cap) with 400.
        Assert.Equal(HttpStatusCode.BadRequest, sent.StatusCode);
    }

    /// <summary>A JSON body sent chunked: no Content-Length for the server to refuse up front.</summary>
    private sealed class ChunkedJson : HttpContent
    {
        private readonly byte[] _bytes;

        public ChunkedJson(string text)
        {
            _bytes = Encoding.UTF8.GetBytes(text);
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(_bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
