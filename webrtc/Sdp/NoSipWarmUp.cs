using System.Security.Cryptography;
using System.Text;

namespace Broadcast.WebRtc.Sdp;

/// <summary>
/// The offer <see cref="Whep.WhepService"/> hands a fresh Janus once before any viewer, so Janus's first-offer set-up is
/// not on a viewer's path: shaped as a browser's receive-only WHEP offer (RFC 8829 JSEP, BUNDLE, rtcp-mux, DTLS actpass;
/// H.264 packetization-mode 1 and Opus), with random ICE credentials and a random certificate fingerprint, so it can
/// never be connected to. It is never answered to anyone: its handle is detached as soon as Janus has read it.
/// </summary>
public static class NoSipWarmUp
{
    public static string Offer()
    {
        string ufrag = Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
        string pwd = Convert.ToHexString(RandomNumberGenerator.GetBytes(12)).ToLowerInvariant();
        string fingerprint = string.Join(':',
            RandomNumberGenerator.GetBytes(32).Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
        var sdp = new StringBuilder();
        sdp.Append("v=0\r\no=- ").Append(RandomNumberGenerator.GetInt32(1, int.MaxValue)).Append(" 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")
            .Append("a=group:BUNDLE 0 1\r\na=msid-semantic: WMS\r\n");
        void Media(string kind, int mid, string formats)
        {
            sdp.Append("m=").Append(kind).Append(" 9 UDP/TLS/RTP/SAVPF ").Append(formats)
                .Append("\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n")
                .Append("a=ice-ufrag:").Append(ufrag).Append("\r\na=ice-pwd:").Append(pwd).Append("\r\na=ice-options:trickle\r\n")
                .Append("a=fingerprint:sha-256 ").Append(fingerprint).Append("\r\na=setup:actpass\r\na=mid:").Append(mid).Append("\r\n")
                .Append("a=recvonly\r\na=rtcp-mux\r\n");
        }

        Media("video", 0, "102");
        sdp.Append("a=rtpmap:102 H264/90000\r\na=rtcp-fb:102 nack\r\na=rtcp-fb:102 nack pli\r\n")
            .Append("a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n");
        Media("audio", 1, "111");
        sdp.Append("a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n");
        return sdp.ToString();
    }
}
