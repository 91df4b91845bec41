using System.Text;
using Broadcast.WebRtc.Relay;

namespace Broadcast.WebRtc.Tests;

/// <summary>
/// An ingest node's answer to <c>GET /internal/realtime/live</c> as an origin node reads it (<see cref="RelayPrewarm"/>): the
/// channels it names, or a refusal that says why. A peer holding the node token is trusted, but a broken or replaced one must
/// cost a log line, not memory or a warm-up of names that are not channels.
/// </summary>
public class LiveRealTimeChannelsTests
{
    public static TheoryData<string, string, byte[]> Cases => new()
    {
        { "none live", "", Encoding.UTF8.GetBytes("""{"channels":[]}""") },
        { "two", "news,sport", Encoding.UTF8.GetBytes("""{"channels":["news","sport"]}""") },
        { "as the endpoint writes it, other members ignored", "news", Encoding.UTF8.GetBytes("""{ "channels" : [ "news" ], "node": "ingest-1" }""") },
        { "member name in another case", "news", Encoding.UTF8.GetBytes("""{"Channels":["news"]}""") },
        { "longest name", new string('a', LiveRealTimeChannels.MaxNameLength), Encoding.UTF8.GetBytes($$"""{"channels":["{{new string('a', LiveRealTimeChannels.MaxNameLength)}}"]}""") },
    };

    public static TheoryData<string, string, byte[]> Malformed => new()
    {
        { "empty", "not the expected JSON", [] },
        { "an HTML page", "not the expected JSON", Encoding.UTF8.GetBytes("<html><body>502 Bad Gateway</body></html>") },
        { "cut short", "not the expected JSON", Encoding.UTF8.GetBytes("{\"channels\":[\"news\",") },
        { "null", "no list of channels", Encoding.UTF8.GetBytes("null") },
        { "no list", "no list of channels", Encoding.UTF8.GetBytes("{}") },
        { "a list of numbers", "not the expected JSON", Encoding.UTF8.GetBytes("""{"channels":[1,2]}""") },
        { "a string, not a list", "not the expected JSON", Encoding.UTF8.GetBytes("""{"channels":"news"}""") },
        { "a null name", "not a channel name", Encoding.UTF8.GetBytes("""{"channels":["news",null]}""") },
        { "an empty name", "not a channel name", Encoding.UTF8.GetBytes("""{"channels":[""]}""") },
        { "a path, not a name", "not a channel name", Encoding.UTF8.GetBytes("""{"channels":["../admin/x"]}""") },
        { "a name too long", "not a channel name", Encoding.UTF8.GetBytes($$"""{"channels":["{{new string('a', LiveRealTimeChannels.MaxNameLength + 1)}}"]}""") },
        { "invalid UTF-8", "not the expected JSON", [.. Encoding.UTF8.GetBytes("""{"channels":["""), 0x22, 0xC3, 0x28, 0x22, 0x5D, 0x7D] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void An_answer_names_its_channels(string name, string expected, byte[] utf8)
    {
        var channels = LiveRealTimeChannels.TryParse(utf8, out string problem);
        Assert.True(channels is not null, $"{name}: {problem}");
        Assert.Equal(expected, string.Join(',', channels));
        Assert.Equal("", problem);
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void A_malformed_answer_is_refused_with_the_reason(string name, string reason, byte[] utf8)
    {
        Assert.Null(LiveRealTimeChannels.TryParse(utf8, out string problem));
        Assert.True(problem.Contains(reason, StringComparison.Ordinal), $"{name}: {problem}");
    }

    [Fact]
    public void More_channels_than_the_bound_or_more_bytes_are_refused_without_reading_them_all()
    {
        var many = Encoding.UTF8.GetBytes("{\"channels\":[" + string.Join(',', Enumerable.Range(0, LiveRealTimeChannels.MaxChannels + 1).Select(i => $"\"c{i}\"")) + "]}");
        Assert.Null(LiveRealTimeChannels.TryParse(many, out string problem));
        Assert.Contains($"more than {LiveRealTimeChannels.MaxChannels}", problem, StringComparison.Ordinal);

        var atTheBound = Encoding.UTF8.GetBytes("{\"channels\":[" + string.Join(',', Enumerable.Range(0, LiveRealTimeChannels.MaxChannels).Select(_ => $"\"{new string('a', LiveRealTimeChannels.MaxNameLength)}\"")) + "]}");
        Assert.True(atTheBound.Length <= LiveRealTimeChannels.MaxBytes, $"{atTheBound.Length} bytes: the byte bound must hold the largest list allowed");
        Assert.NotNull(LiveRealTimeChannels.TryParse(atTheBound, out problem));

        var huge = new byte[LiveRealTimeChannels.MaxBytes + 1];
        Assert.Null(LiveRealTimeChannels.TryParse(huge, out problem));
        Assert.Contains("larger than", problem, StringComparison.Ordinal);
    }
}
