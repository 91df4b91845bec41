using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Broadcast.WebRtc.Janus;

namespace Broadcast.WebRtc.Tests.Fakes;

/// <summary>How <see cref="FaultyJanusHttp"/> fails every request after the session's <c>create</c>.</summary>
public enum JanusTransportFault
{
    /// <summary>The connection is refused or reset (<see cref="HttpRequestException"/>).</summary>
    Unreachable,

    /// <summary>A 200 whose body is not JSON (a proxy's page, a truncated reply).</summary>
    NotJson,

    /// <summary>No answer until the client's <see cref="HttpClient.Timeout"/> ends the request.</summary>
    Silent,
}

/// <summary>
/// Janus's HTTP API as a <see cref="JanusSession"/> sees it when the transport breaks in the middle of a request: the
/// session is created, its long poll waits, and every later POST (attach, message, detach) fails as <paramref name="fault"/> says.
/// </summary>
internal sealed class FaultyJanusHttp(JanusTransportFault fault) : HttpMessageHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Method == HttpMethod.Get)
        {
            // The long poll: nothing happens until the session is disposed.
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        var body = JsonNode.Parse(await request.Content!.ReadAsStringAsync(cancellationToken))!;
        if ((string?)body["janus"] == "create")
            return Json(new JsonObject { ["janus"] = "success", ["transaction"] = body["transaction"]?.DeepClone(), ["data"] = new JsonObject { ["id"] = 7 } });

        switch (fault)
        {
            case JanusTransportFault.Unreachable:
                throw new HttpRequestException("Connection refused (127.0.0.1:8088)", null, HttpStatusCode.ServiceUnavailable);
            case JanusTransportFault.NotJson:
                return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("<html>bad gateway</html>", Encoding.UTF8, "application/json") };
            default:
                await Task.Delay(Timeout.Infinite, cancellationToken);
                throw new InvalidOperationException("unreachable");
        }
    }

    private static HttpResponseMessage Json(JsonObject body) =>
        new(HttpStatusCode.OK) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
}
