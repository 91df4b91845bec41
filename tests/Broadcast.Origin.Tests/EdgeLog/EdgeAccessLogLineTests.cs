using System.Text;
using Broadcast.Origin.Cmcd;
using Broadcast.Origin.EdgeLog;
using Broadcast.TestSupport;
using Microsoft.Extensions.Options;

namespace Broadcast.Origin.Tests.EdgeLog;

/// <summary>
/// The edge's audience log line: nginx's syslog frame around infra/nginx-edge.conf's broadcast_audience JSON, read or
/// refused, never thrown on.
/// </summary>
public sealed class EdgeAccessLogLineTests
{
    private const string Frame = "<190>Dec  1 03:00:00 broadcast_edge: ";

    [Fact]
    public void A_line_as_nginx_writes_it_is_read_with_its_escapes_undone()
    {
        string line = Frame + "{\"a\":\"198.51.100.1\",\"u\":\"Mozilla/5.0 \\\"quoted\\\" \\u00e9\",\"r\":\"/live/a/720p/index.m3u8?_HLS_msn=4&CMCD=bs%2Csid%3D%22x%22\"," +
            "\"s\":\"200\",\"cq\":\"bl=2100\",\"co\":\"\",\"cs\":\"bs\",\"cx\":\"sid=\\\"6e2f\\\"\"}";
        Span<char> scratch = stackalloc char[EdgeAccessLogLine.MaxBytes];

        Assert.Equal(EdgeLogParse.Read, EdgeAccessLogLine.Parse(Encoding.UTF8.GetBytes(line), scratch, out var entry));

        Assert.Equal("198.51.100.1", entry.Address.ToString());
        Assert.Equal("Mozilla/5.0 \"quoted\" é", entry.UserAgent.ToString());
        Assert.Equal("/live/a/720p/index.m3u8?_HLS_msn=4&CMCD=bs%2Csid%3D%22x%22", entry.RequestUri.ToString());
        Assert.Equal(200, entry.Status);
        Assert.Equal("bl=2100", entry.CmcdRequest.ToString());
        Assert.True(entry.CmcdObject.IsEmpty);
        Assert.Equal("bs", entry.CmcdStatus.ToString());
        Assert.Equal("sid=\"6e2f\"", entry.CmcdSession.ToString());
    }

    [Theory]
    [InlineData("<190>Dec  1 03:00:00 host broadcast_edge: {\"a\":\"::1\",\"r\":\"/live/a/b/c.m4s\",\"s\":\"304\",\"extra\":7}")] // a hostname, an unknown key
    [InlineData("<14>{\"s\":\"206\",\"r\":\"/live/a/b/c.m4s\",\"a\":\"10.0.0.1\"}\n")] // keys in another order, a relay's newline
    public void Frames_with_a_hostname_unknown_keys_and_any_key_order_are_read(string line)
    {
        Span<char> scratch = stackalloc char[EdgeAccessLogLine.MaxBytes];
        Assert.Equal(EdgeLogParse.Read, EdgeAccessLogLine.Parse(Encoding.UTF8.GetBytes(line), scratch, out var entry));
        Assert.Equal("/live/a/b/c.m4s", entry.RequestUri.ToString());
        Assert.True(entry.UserAgent.IsEmpty);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{\"a\":\"1.2.3.4\",\"r\":\"/live/a/b.m4s\",\"s\":\"200\"}")] // no frame
    [InlineData("<>x: {\"a\":\"1.2.3.4\",\"r\":\"/live/a/b.m4s\",\"s\":\"200\"}")] // no priority
    [InlineData("<1x9>x: {\"a\":\"1.2.3.4\",\"r\":\"/live/a/b.m4s\",\"s\":\"200\"}")] // priority not digits
    [InlineData("<190>Dec  1 03:00:00 broadcast_edge: no json")]
    [InlineData(Frame + "{\"a\":\"1.2.3.4\",\"r\":\"/live/a/b.m4s\"}")] // no status
    [InlineData(Frame + "{\"r\":\"/live/a/b.m4s\",\"s\":\"200\"}")] // no address
    [InlineData(Frame + "{\"a\":\"1.2.3.4\",\"s\":\"200\"}")] // no request
    [InlineData(Frame + "{\"a\":\"1.2.3.4\",\"r\":\"/live/a/b.m4s\",\"s\":\"2000\"}")] // no status code
    [InlineData(Frame + "{\"a\":\"1.2.3.4\",\"r\":\"/live/a/b.m4s\",\"s\":200}")] // a number where nginx writes a string
    [InlineData(Frame + "{\"a\":\"1.2.3.4\",\"r\":\"/live/a/b.m4s\",\"s\":\"200\",\"a\":\"5.6.7.8\"}")] // a key twice
    [InlineData(Frame + "{\"a\":\"1.2.3.4\",\"r\":\"/live/a/b.m4s\",\"s\":\"200\",\"x\":{\"y\":1}}")] // nesting
    [InlineData(Frame + "{\"a\":\"1.2.3.4\",\"r\":\"/live/a/b.m4s\",\"s\":\"200\"")] // cut short
    [InlineData(Frame + "{\"a\":\"1.2.3.4\",\"r\":\"/live/a/b.m4s\",\"s\":\"200\"}{}")] // two objects
    [InlineData(Frame + "{\"a\":\"1.2.3.4\",\"r\":\"/live/a/b.m4s\",\"s\":\"200\",\"u\":\"\\ud800\"}")] // a lone surrogate
    public void Anything_else_is_malformed(string line)
    {
        Span<char> scratch = stackalloc char[EdgeAccessLogLine.MaxBytes];
        Assert.Equal(EdgeLogParse.Malformed, EdgeAccessLogLine.Parse(Encoding.UTF8.GetBytes(line), scratch, out _));
    }

    [Fact]
    public void Invalid_utf8_and_oversized_datagrams_are_refused()
    {
        Span<char> scratch = stackalloc char[EdgeAccessLogLine.MaxBytes];
        var invalid = Encoding.UTF8.GetBytes(Frame + "{\"a\":\"1.2.3.4\",\"r\":\"/live/a/b.m4s\",\"s\":\"200\",\"u\":\"XX\"}");
        int at = Array.IndexOf(invalid, (byte)'X');
        invalid[at] = 0xC3; // a lead byte followed by ASCII
        Assert.Equal(EdgeLogParse.Malformed, EdgeAccessLogLine.Parse(invalid, scratch, out _));

        var huge = Encoding.UTF8.GetBytes(Frame + "{\"a\":\"1.2.3.4\",\"r\":\"/live/a/b.m4s\",\"s\":\"200\",\"u\":\"" + new string('u', 5000) + "\"}");
        Assert.Equal(EdgeLogParse.TooLong, EdgeAccessLogLine.Parse(huge, scratch, out _));

        // A buffer smaller than the values: refused, not written past.
        Span<char> small = stackalloc char[8];
        Assert.Equal(EdgeLogParse.Malformed,
            EdgeAccessLogLine.Parse(Encoding.UTF8.GetBytes(Frame + "{\"a\":\"198.51.100.1\",\"r\":\"/live/a/b.m4s\",\"s\":\"200\"}"), small, out _));
    }

    [Fact]
    public void Reading_and_counting_a_known_IPv4_viewers_line_with_cmcd_allocates_nothing()
    {
        var options = Options.Create(new OriginOptions());
        var audience = new OriginAudience(new ViewerCounter(options, TimeProvider.System), new CmcdAudience(options, TimeProvider.System),
            new ViewerSessions(TimeProvider.System));
        byte[] datagram = Encoding.UTF8.GetBytes(Frame + "{\"a\":\"198.51.100.1\",\"u\":\"Mozilla/5.0\",\"r\":\"/live/a/720p/b1-3.m4s\",\"s\":\"200\"," +
            "\"cq\":\"bl=2100\",\"co\":\"br=3200,ot=v\",\"cs\":\"\",\"cx\":\"sid=\\\"6e2f\\\"\"}");
        char[] scratch = new char[EdgeAccessLogLine.MaxBytes];
        void Count()
        {
            // Not Assert.Equal here: the assertion itself allocates.
            if (EdgeAccessLogLine.Parse(datagram, scratch, out var entry) != EdgeLogParse.Read) throw new InvalidOperationException("not read");
            var uri = entry.RequestUri;
            audience.ServedByEdge(uri["/live/".Length..], [], entry.Address, entry.UserAgent, entry.CmcdRequest, entry.CmcdObject, entry.CmcdStatus, entry.CmcdSession);
        }

        Count(); // the channel's tables, once
        Assert.Equal(0, Allocations.LeastOf(5, () => { for (int i = 0; i < 100; i++) Count(); }));
    }

    [Fact]
    public void Lines_count_at_most_the_channel_cap_and_an_idle_channel_gives_its_place_up()
    {
        var clock = new ManualClock(DateTimeOffset.UnixEpoch.AddDays(20_000));
        var options = Options.Create(new OriginOptions { EdgeLogPort = 5140, EdgeLogSources = "127.0.0.1" });
        var receiver = new EdgeAccessLogReceiver(new OriginAudience(new ViewerCounter(options, clock), new CmcdAudience(options, clock),
            new ViewerSessions(clock)), options, Microsoft.Extensions.Logging.Abstractions.NullLogger<EdgeAccessLogReceiver>.Instance, clock);
        char[] scratch = new char[EdgeAccessLogLine.MaxBytes];
        EdgeAccessLogReceiver.LineOutcome Line(string channel)
        {
            var datagram = Encoding.UTF8.GetBytes(Frame + $"{{\"a\":\"198.51.100.1\",\"r\":\"/live/{channel}/720p/b1-3.m4s\",\"s\":\"200\"}}");
            Assert.Equal(EdgeLogParse.Read, EdgeAccessLogLine.Parse(datagram, scratch, out var entry));
            return receiver.Count(entry);
        }

        for (int i = 0; i < EdgeAccessLogReceiver.MaxChannels; i++) Assert.Equal(EdgeAccessLogReceiver.LineOutcome.Counted, Line($"c{i}"));
        // Forged channel names past the cap count nothing; a channel already counted goes on.
        Assert.Equal(EdgeAccessLogReceiver.LineOutcome.OverChannelCap, Line("invented"));
        Assert.Equal(EdgeAccessLogReceiver.LineOutcome.Counted, Line("c7"));
        // Past the viewer window, the channels nobody named give their places up.
        clock.Advance(options.Value.ViewerWindow + TimeSpan.FromSeconds(1));
        Assert.Equal(EdgeAccessLogReceiver.LineOutcome.Counted, Line("new-show"));
    }
}
