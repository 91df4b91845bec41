using System.Text;
using Broadcast.WebRtc.Sdp;

namespace Broadcast.WebRtc.Tests;

public sealed class SessionDescriptionTests
{
    /// <summary>(name, what is read: each media section as "media port direction mid rtpmaps", bytes).</summary>
    public static TheoryData<string, string, byte[]> Cases => new()
    {
        { "one video section, CRLF", "video 9 recvonly 0 102:H264/90000", Utf8("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\na=mid:0\r\na=rtpmap:102 H264/90000\r\na=recvonly\r\n") },
        { "LF line ends and a blank line", "audio 5004 sendrecv - 111:opus/48000/2", Utf8("v=0\n\nm=audio 5004 RTP/AVP 111\na=rtpmap:111 opus/48000/2\n") },
        { "an rtpmap of a type not on the m= line is not the section's", "video 9 sendonly - 96:VP8/90000", Utf8("v=0\r\nm=video 9 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 H264/90000\r\na=sendonly\r\n") },
        { "a port count on the m= line", "video 40000 inactive - ", Utf8("v=0\r\nm=video 40000/2 RTP/AVP 96\r\na=inactive\r\n") },
        { "a rejected section and a data channel", "video 0 sendrecv 0 |application 9 sendrecv 1 ", Utf8("v=0\r\nm=video 0 RTP/AVP 96\r\na=mid:0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\n") },
    };

    /// <summary>(name, the error says, bytes).</summary>
    public static TheoryData<string, string, byte[]> Malformed => new()
    {
        { "empty", "v=0", Utf8("") },
        { "not SDP at all", "not <type>=<value>", Utf8("not an sdp") },
        { "does not start with v=0", "v=0", Utf8("o=- 1 1 IN IP4 127.0.0.1\r\nv=0\r\nm=video 9 RTP/AVP 96\r\n") },
        { "no media section", "no media section", Utf8("v=0\r\ns=-\r\n") },
        { "an m= line without formats", "malformed m= line", Utf8("v=0\r\nm=video 9 RTP/AVP\r\n") },
        { "a port that is not a number", "malformed m= line", Utf8("v=0\r\nm=video nine RTP/AVP 96\r\n") },
        { "a port past 65535", "malformed m= line", Utf8("v=0\r\nm=video 70000 RTP/AVP 96\r\n") },
        { "a c= line with a bad network type", "malformed c= line", Utf8("v=0\r\nc=XX IP4 1.2.3.4\r\nm=video 9 RTP/AVP 96\r\n") },
        { "an upper-case type", "not <type>=<value>", Utf8("v=0\r\nM=video 9 RTP/AVP 96\r\n") },
        { "too many media sections", "more than 32 media sections", Utf8("v=0\r\n" + string.Concat(Enumerable.Repeat("m=audio 9 RTP/AVP 0\r\n", 33))) },
        { "more formats than there are RTP payload types", "more than 128 formats on an m= line",
            Utf8("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF " + string.Join(' ', Enumerable.Range(0, 129)) + "\r\n") },
        { "too many lines", "more than 4000 lines", Utf8("v=0\r\nm=audio 9 RTP/AVP 0\r\n" + string.Concat(Enumerable.Repeat("a=x\r\n", 4000))) },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reads_media_sections(string name, string decoded, byte[] bytes)
    {
        Assert.True(SessionDescription.TryParse(Encoding.UTF8.GetString(bytes), out var sdp, out string error), $"{name}: {error}");
        Assert.Equal(decoded, Describe(sdp));
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Refuses_malformed_descriptions_with_the_reason(string name, string reason, byte[] bytes)
    {
        Assert.False(SessionDescription.TryParse(Encoding.UTF8.GetString(bytes), out _, out string error), name);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Reads_a_real_chromium_offer()
    {
        Assert.True(SessionDescription.TryParse(SdpSamples.ChromiumOffer, out var sdp, out string error), error);
        Assert.Equal(["video", "audio"], sdp.Media.Select(m => m.Media));
        var video = sdp.Media[0];
        Assert.Equal("recvonly", video.Direction);
        Assert.Equal("0", video.Mid);
        Assert.Contains(video.RtpMaps(), m => m.PayloadType == 108 && m.Encoding == "H264" && m.ClockRate == 90000);
        Assert.Equal("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", video.FormatParameters(108));
        Assert.Contains("nack pli", video.FeedbackOf(108));
        Assert.Contains(sdp.Media[1].RtpMaps(), m => m.PayloadType == 111 && m.Encoding == "opus" && m.Channels == 2);
    }

    /// <summary>
    /// The largest offer a WHEP POST may carry (64 KiB, 4000 lines) spent on rtpmap, fmtp and rtcp-fb lines for every
    /// payload type, the one that counts last: the section is indexed in one pass, the first line of each kind wins, and
    /// the H.264 choice is the right one. (Looked up line against line, such an offer cost the node millions of string
    /// comparisons per anonymous POST.)
    /// </summary>
    [Fact]
    public void A_hostile_offer_of_thousands_of_attribute_lines_reads_in_one_pass_and_picks_the_right_payload_type()
    {
        var text = new StringBuilder("v=0\r\nc=IN IP4 127.0.0.1\r\nm=video 9 UDP/TLS/RTP/SAVPF ").Append(string.Join(' ', Enumerable.Range(0, 128))).Append("\r\n");
        for (int round = 0; round < 8; round++)
        {
            for (int pt = 0; pt < 127; pt++)
            {
                text.Append("a=rtpmap:").Append(pt).Append(" VP8/90000\r\n");
                text.Append("a=fmtp:").Append(pt).Append(" x=").Append(round).Append("\r\n");
                text.Append("a=rtcp-fb:").Append(pt).Append(" nack\r\n");
            }
        }
        text.Append("a=rtpmap:127 H264/90000\r\na=fmtp:127 packetization-mode=1;profile-level-id=42e01f\r\na=fmtp:127 packetization-mode=0\r\na=recvonly\r\n");
        Assert.True(text.Length <= 64 * 1024, $"{text.Length} bytes");

        Assert.True(SessionDescription.TryParse(text.ToString(), out var sdp, out string error), error);
        var video = sdp.Media.Single();
        Assert.Equal(128, video.RtpMaps().Count());
        Assert.Equal("x=0", video.FormatParameters(5));
        Assert.Equal(8, video.FeedbackOf(5).Count());
        Assert.Equal("packetization-mode=1;profile-level-id=42e01f", video.FormatParameters(127));
        Assert.Equal(127, NoSipAnswer.ChooseH264(video, 0x42)?.PayloadType);
    }

    [Fact]
    public void Reads_the_plain_offer_janus_nosip_generated()
    {
        Assert.True(SessionDescription.TryParse(SdpSamples.NoSipGenerated, out var sdp, out string error), error);
        Assert.Null(sdp.ConnectionAddress);
        Assert.Equal([40202, 40200], sdp.Media.Select(m => m.Port));
        Assert.All(sdp.Media, m => Assert.Equal("127.0.0.1", m.ConnectionAddress));
        Assert.All(sdp.Media, m => Assert.Equal("RTP/AVP", m.Protocol));
    }

    internal static string Describe(SessionDescription sdp) => string.Join('|', sdp.Media.Select(m =>
        $"{m.Media} {m.Port} {m.Direction} {m.Mid ?? "-"} {string.Join(',', m.RtpMaps().Select(r => $"{r.PayloadType}:{r.Encoding}/{r.ClockRate}{(r.Channels > 1 ? $"/{r.Channels}" : "")}"))}"));

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
