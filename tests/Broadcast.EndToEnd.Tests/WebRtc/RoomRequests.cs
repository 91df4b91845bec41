using System.Net.Http.Headers;
using System.Text;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.WebRtc;

/// <summary>Offers posted into a live room by hand, for the checks that come before Janus (who may publish, what is malformed).</summary>
internal static class RoomRequests
{
    /// <summary>A minimal send-only VP8 offer.</summary>
    public const string SketchOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n"
        + "a=rtpmap:96 VP8/90000\r\na=sendonly\r\n";

    /// <summary>POSTs <paramref name="offer"/> as application/sdp to <paramref name="path"/>, with <paramref name="bearer"/> if given.</summary>
    public static async Task<HttpResponseMessage> PostOfferAsync(ServerProcess server, string path, string? bearer, string offer = SketchOffer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(offer, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/sdp");
        if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return await server.Viewer.SendAsync(request);
    }
}
