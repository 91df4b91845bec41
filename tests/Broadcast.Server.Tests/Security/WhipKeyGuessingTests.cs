using System.Net;
using System.Net.Http.Headers;

namespace Broadcast.Server.Tests.Security;

/// <summary>
/// WHIP's stream-key check stops a guesser as RTMP's does: after Room:MaxFailedKeysPerAddress refused keys from one
/// address the address gets 429 with Retry-After, even with the right key (the key is not looked up). Nothing here
/// reaches Janus: the refusals come before any offer is sent to it.
/// </summary>
public sealed class WhipKeyGuessingTests
{
    private const string Offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\na=sendonly\r\n";

    [Fact]
    public async Task An_address_that_keeps_sending_wrong_keys_is_refused_with_429_even_with_the_right_key()
    {
        await using var server = await InProcessServer.StartAsync("--Transcode:Enabled=false", "--Room:MaxFailedKeysPerAddress=3",
            "--Room:FailedKeyBlock=00:02:00");
        string key = (await server.CreateChannelAsync("Whip Guarded")).StreamKey;

        for (int i = 1; i <= 3; i++)
        {
            using var wrong = await PostAsync(server, $"live_not-a-key-{i}");
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        using (var blocked = await PostAsync(server, key))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, blocked.StatusCode);
            Assert.InRange(blocked.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0, 100, 120);
            Assert.Contains("too many refused stream keys", await blocked.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // A request without any key is no guess: it is told to send one, as before.
        using (var none = await PostAsync(server, null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        }
    }

    private static async Task<HttpResponseMessage> PostAsync(InProcessServer server, string? bearer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/whip") { Content = new StringContent(Offer) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/sdp");
        if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return await server.Http.SendAsync(request);
    }
}
