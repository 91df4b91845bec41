using Broadcast.WebRtc.Sdp;

namespace Broadcast.WebRtc.Tests;

/// <summary>
/// The offer that warms a fresh Janus up is one our own WHEP route would take from a browser (so Janus does for it what
/// it does for a viewer's), and it can never be connected to: its ICE credentials and fingerprint are new every time.
/// </summary>
public sealed class NoSipWarmUpTests
{
    [Fact]
    public void The_warm_up_offer_is_a_receive_only_h264_and_opus_offer_with_fresh_credentials()
    {
        string first = NoSipWarmUp.Offer();
        Assert.True(SessionDescription.TryParse(first, out var offer, out string error), error);
        var video = Assert.Single(offer.Media, m => m.Media == "video");
        Assert.Equal("recvonly", video.Direction);
        Assert.NotNull(NoSipAnswer.ChooseH264(video, 0));
        Assert.Single(offer.Media, m => m.Media == "audio" && m.Direction == "recvonly");
        Assert.Contains("a=setup:actpass\r\n", first, StringComparison.Ordinal);
        Assert.Contains("a=group:BUNDLE 0 1\r\n", first, StringComparison.Ordinal);

        string second = NoSipWarmUp.Offer();
        string Line(string sdp, string prefix) => sdp.Split("\r\n").First(l => l.StartsWith(prefix, StringComparison.Ordinal));
        Assert.NotEqual(Line(first, "a=ice-pwd:"), Line(second, "a=ice-pwd:"));
        Assert.NotEqual(Line(first, "a=fingerprint:"), Line(second, "a=fingerprint:"));
        Assert.Matches("^a=fingerprint:sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$", Line(first, "a=fingerprint:"));
    }
}
