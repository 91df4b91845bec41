using Broadcast.WebRtc.Sdp;

namespace Broadcast.WebRtc.Tests;

public sealed class NoSipAnswerTests
{
    private static SessionDescription Generated()
    {
        Assert.True(SessionDescription.TryParse(SdpSamples.NoSipGenerated, out var sdp, out string error), error);
        return sdp;
    }

    [Fact]
    public void Answers_janus_plain_offer_with_constrained_baseline_h264_and_opus_sent_from_our_port()
    {
        Assert.True(NoSipAnswer.TryBuild(Generated(), 31000, 66, out string answer, out var plan, out string error), error);
        // 42e01f with packetization-mode=1 is payload type 108 in Chromium's offer; 102 is 42001f (baseline without constraint flags).
        Assert.Equal(new NoSipMediaPlan("127.0.0.1", 40202, 108, 40200, 111), plan);
        Assert.True(SessionDescription.TryParse(answer, out var parsed, out error), error);
        Assert.Equal("video 31000 sendonly 0 108:H264/90000|audio 31000 sendonly 1 111:opus/48000/2", SessionDescriptionTests.Describe(parsed));
        Assert.Equal("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", parsed.Media[0].FormatParameters(108));
        Assert.Equal(["ccm fir", "nack", "nack pli"], parsed.Media[0].FeedbackOf(108).Order(StringComparer.Ordinal));
        Assert.Equal("RTP/AVP", parsed.Media[0].Protocol);
    }

    [Fact]
    public void Prefers_the_profile_we_send_when_the_viewer_offers_it()
    {
        Assert.True(NoSipAnswer.TryBuild(Generated(), 31000, 77, out _, out var plan, out string error), error);
        Assert.Equal(116, plan.VideoPayloadType); // 4d001f, packetization-mode=1
    }

    [Fact]
    public void Never_picks_packetization_mode_0()
    {
        const string Offer = "v=0\r\nm=video 4000 RTP/AVP 104\r\nc=IN IP4 127.0.0.1\r\na=rtpmap:104 H264/90000\r\na=fmtp:104 packetization-mode=0;profile-level-id=42e01f\r\na=recvonly\r\n";
        Assert.True(SessionDescription.TryParse(Offer, out var sdp, out _));
        Assert.False(NoSipAnswer.TryBuild(sdp, 31000, 66, out _, out _, out string error));
        Assert.Contains("H.264", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_what_we_do_not_send_and_plays_video_without_audio()
    {
        const string Offer = "v=0\r\nc=IN IP4 127.0.0.1\r\nm=video 4000 RTP/AVP 96 102\r\na=mid:v\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=1;profile-level-id=42e01f\r\na=recvonly\r\n"
            + "m=audio 4002 RTP/AVP 0\r\na=mid:a\r\na=rtpmap:0 PCMU/8000\r\na=recvonly\r\nm=video 4004 RTP/AVP 102\r\na=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=1\r\na=recvonly\r\n";
        Assert.True(SessionDescription.TryParse(Offer, out var sdp, out _));
        Assert.True(NoSipAnswer.TryBuild(sdp, 31000, 66, out string answer, out var plan, out string error), error);
        Assert.False(plan.HasAudio);
        Assert.True(SessionDescription.TryParse(answer, out var parsed, out _));
        // The first video is ours; PCMU audio and the second video are refused with port 0, in the offer's order.
        Assert.Equal([31000, 0, 0], parsed.Media.Select(m => m.Port));
        Assert.Equal("a", parsed.Media[1].Mid);
    }

    [Fact]
    public void A_viewer_that_only_sends_gets_no_video()
    {
        const string Offer = "v=0\r\nc=IN IP4 127.0.0.1\r\nm=video 4000 RTP/AVP 102\r\na=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=1\r\na=sendonly\r\n";
        Assert.True(SessionDescription.TryParse(Offer, out var sdp, out _));
        Assert.False(NoSipAnswer.TryBuild(sdp, 31000, 66, out _, out _, out _));
    }
}
