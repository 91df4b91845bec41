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
