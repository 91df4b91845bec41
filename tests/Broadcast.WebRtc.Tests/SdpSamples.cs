namespace Broadcast.WebRtc.Tests;

/// <summary>SDP captured from the real programs (see Data/): Chromium 156's receive-only offer and Janus 1.1.2 NoSIP's plain RTP offer made from it.</summary>
internal static class SdpSamples
{
    public static string ChromiumOffer => Read("chromium-156-recvonly-offer.sdp");

    public static string NoSipGenerated => Read("janus-1.1.2-nosip-generated.sdp");

    private static string Read(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", name));
}
