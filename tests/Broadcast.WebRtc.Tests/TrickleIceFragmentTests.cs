using System.Text;
using Broadcast.WebRtc.Sdp;

namespace Broadcast.WebRtc.Tests;

/// <summary>
/// The <c>application/trickle-ice-sdpfrag</c> reader (RFC 8840 §9) a WHEP ICE restart's <c>PATCH</c> reaches
/// (RFC 9725 §4.3.2), the restart offer made from it and the answer fragment made from Janus's answer.
/// </summary>
public sealed class TrickleIceFragmentTests
{
    /// <summary>What Chromium's restart gives a WHEP page (the page keeps the first media section of its new offer).</summary>
    private const string ChromiumRestart =
        "a=ice-ufrag:Ct9D\r\na=ice-pwd:9Sy1oC0eaQX1WgP+f4vYlK6c\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=mid:0\r\n"
        + "a=candidate:3340573722 1 udp 41885439 192.0.2.10 50112 typ relay raddr 0.0.0.0 rport 0 generation 0 ufrag Ct9D network-cost 999\r\n"
        + "a=candidate:2107466046 1 tcp 1518280447 192.0.2.11 9 typ host tcptype active generation 0 ufrag Ct9D\r\na=end-of-candidates\r\n";

    public static TheoryData<string, string, byte[]> Cases => new()
    {
        { "a restart", "Ct9D 2", Encoding.ASCII.GetBytes(ChromiumRestart) },
        { "a restart, LF alone and no candidates", "abcd 0", Encoding.ASCII.GetBytes("a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuvwx\n") },
        { "trickle only: no credentials", "- 1", Encoding.ASCII.GetBytes("a=mid:0\r\na=candidate:1 1 udp 2122260223 192.0.2.1 61764 typ host\r\n") },
        { "options and groups are read over", "abcd 0", Encoding.ASCII.GetBytes("a=ice-options:trickle ice2\r\na=group:BUNDLE 0 1\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n") },
        { "an mDNS host name", "- 1", Encoding.ASCII.GetBytes("a=candidate:1 1 udp 2122260223 0b3c4e2a-5f.local 61764 typ host\r\n") },
    };

    public static TheoryData<string, string, byte[]> Malformed => new()
    {
        { "not type=value", "is not <type>=<value>", Encoding.ASCII.GetBytes("ice-ufrag abcd\r\n") },
        { "a password alone", "needs both", Encoding.ASCII.GetBytes("a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n") },
        { "a short password", "a=ice-pwd", Encoding.ASCII.GetBytes("a=ice-ufrag:abcd\r\na=ice-pwd:short\r\n") },
        { "a ufrag with a space", "a=ice-ufrag", Encoding.ASCII.GetBytes("a=ice-ufrag:ab cd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n") },
        { "two ufrags", "a=ice-ufrag", Encoding.ASCII.GetBytes("a=ice-ufrag:abcd\r\na=ice-ufrag:efgh\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n") },
        { "a candidate without typ", "malformed candidate", Encoding.ASCII.GetBytes("a=candidate:1 1 udp 2122260223 192.0.2.1 61764 host\r\n") },
        { "a candidate with a port out of range", "malformed candidate", Encoding.ASCII.GetBytes("a=candidate:1 1 udp 2122260223 192.0.2.1 70000 typ host\r\n") },
        { "a NUL", "control or non-ASCII", Encoding.ASCII.GetBytes("a=ice-ufrag:ab\0cd\r\n") },
        { "non-ASCII", "control or non-ASCII", Encoding.UTF8.GetBytes("a=mid:é\r\n") },
        { "a long mid", "a=mid", Encoding.ASCII.GetBytes("a=mid:" + new string('m', 40) + "\r\n") },
        { "too many candidates", "more than 64 candidates", Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("a=candidate:1 1 udp 1 192.0.2.1 1 typ host\r\n", 65))) },
        { "too many lines", "more than 256 lines", Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("a=x\r\n", 300))) },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reads_a_fragment(string name, string expected, byte[] input)
    {
        Assert.True(TrickleIceFragment.TryParse(Encoding.UTF8.GetString(input), out var fragment, out string error), $"{name}: {error}");
        string[] parts = expected.Split(' ');
        Assert.Equal(parts[0] == "-" ? null : parts[0], fragment.Ufrag);
        Assert.Equal(int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), fragment.Candidates.Count);
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Refuses_a_malformed_fragment_with_its_reason(string name, string reason, byte[] input)
    {
        Assert.False(TrickleIceFragment.TryParse(Encoding.UTF8.GetString(input), out _, out string error), name);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_restart_offer_is_the_old_offer_with_the_new_credentials_and_candidates_alone()
    {
        Assert.True(TrickleIceFragment.TryParse(ChromiumRestart, out var fragment, out _));
        string offer = fragment.ApplyTo(SdpSamples.ChromiumOffer);
        Assert.True(SessionDescription.TryParse(offer, out var parsed, out string error), error);
        Assert.True(SessionDescription.TryParse(SdpSamples.ChromiumOffer, out var old, out _));
        Assert.Equal(old.Media.Select(m => m.Formats.Count), parsed.Media.Select(m => m.Formats.Count));
        Assert.DoesNotContain(offer.Split("\r\n"), l => l.StartsWith("a=ice-ufrag:", StringComparison.Ordinal) && l != "a=ice-ufrag:Ct9D");
        Assert.DoesNotContain(offer.Split("\r\n"), l => l.StartsWith("a=ice-pwd:", StringComparison.Ordinal) && l != "a=ice-pwd:9Sy1oC0eaQX1WgP+f4vYlK6c");
        // The new candidates in the section of their mid (0), each once; the old ones gone.
        var first = parsed.Media[0].Attributes.Where(a => a.Name == "candidate").Select(a => a.Value).ToList();
        Assert.Equal(fragment.Candidates.Select(c => c.Candidate), first);
        Assert.All(parsed.Media.Skip(1), m => Assert.DoesNotContain(m.Attributes, a => a.Name == "candidate"));
        Assert.Equal(2, offer.Split("\r\n").Count(l => l.StartsWith("a=candidate:", StringComparison.Ordinal)));
    }

    [Fact]
    public void The_answer_fragment_holds_the_answers_credentials_and_first_sections_candidates()
    {
        const string Answer = "v=0\r\no=- 1 2 IN IP4 192.0.2.5\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=ice-ufrag:Zx9q\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n"
            + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 192.0.2.5\r\na=mid:0\r\na=candidate:1 1 udp 2015363327 192.0.2.5 20000 typ host\r\na=end-of-candidates\r\n"
            + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\na=candidate:9 1 udp 1 192.0.2.99 1 typ host\r\n";
        string? fragment = TrickleIceFragment.AnswerOf(Answer);
        Assert.Equal("a=ice-ufrag:Zx9q\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n"
            + "a=candidate:1 1 udp 2015363327 192.0.2.5 20000 typ host\r\na=end-of-candidates\r\n", fragment);
        // And it reads back as a restart fragment.
        Assert.True(TrickleIceFragment.TryParse(fragment!, out var parsed, out string error), error);
        Assert.Equal("Zx9q", parsed.Ufrag);
        Assert.Null(TrickleIceFragment.AnswerOf("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"));
    }

    [Fact]
    public void A_fragment_without_credentials_makes_no_restart_offer()
    {
        Assert.True(TrickleIceFragment.TryParse("a=mid:0\r\n", out var fragment, out _));
        Assert.Throws<InvalidOperationException>(() => fragment.ApplyTo(SdpSamples.ChromiumOffer));
    }
}
