using System.Text;
using Broadcast.Ingest.Srt;

namespace Broadcast.Ingest.Tests.Srt;

public class SrtStreamIdTests
{
    // (name, decoded, bytes): the SRT Access Control syntax (#!:: then key=value pairs) and the plain app/key form.
    public static TheoryData<string, SrtStreamId, byte[]> Cases => new()
    {
        { "access control, publish", new("live", "abc123", null), Utf8("#!::r=live/abc123,m=publish") },
        { "access control, keys in another order", new("live", "abc123", null), Utf8("#!::m=publish,r=live/abc123") },
        { "access control with user, type and host", new("live", "abc123", "studio"), Utf8("#!::u=studio,r=live/abc123,h=example.com,m=publish,t=stream") },
        { "access control without mode: only publishing is served", new("live", "abc123", null), Utf8("#!::r=live/abc123") },
        { "application keys are ignored", new("live", "abc123", null), Utf8("#!::r=live/abc123,m=publish,x-token=9") },
        { "plain app/key (SRS, MediaMTX style)", new("live", "abc123", null), Utf8("live/abc123") },
        { "key with a slash stays whole after the first one", new("live", "a/b", null), Utf8("live/a/b") },
        { "other app: the authorizer decides", new("show", "k", null), Utf8("#!::r=show/k,m=publish") },
        { "empty value of an ignored key", new("live", "k", null), Utf8("#!::s=,r=live/k") },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reads_stream_ids(string name, SrtStreamId decoded, byte[] bytes)
    {
        Assert.True(SrtStreamId.TryParse(bytes, out var id, out var error), $"{name}: {error}");
        Assert.Equal(decoded, id);
    }

    [Theory]
    [InlineData("empty", "", "no stream id")]
    [InlineData("playback request", "#!::r=live/k,m=request", "only takes publishers")]
    [InlineData("bidirectional", "#!::r=live/k,m=bidirectional", "only takes publishers")]
    [InlineData("file transfer", "#!::r=live/k,m=publish,t=file", "only t=stream")]
    [InlineData("no resource", "#!::m=publish", "without a resource")]
    [InlineData("resource without app", "#!::r=k,m=publish", "not {app}/{streamKey}")]
    [InlineData("resource starting with a slash", "/k", "not {app}/{streamKey}")]
    [InlineData("no key after the app", "live/", "has no stream key")]
    [InlineData("item without '='", "#!::live/k", "is not key=value")]
    [InlineData("item with an empty key", "#!::=x,r=live/k", "is not key=value")]
    [InlineData("resource given twice", "#!::r=live/a,r=live/b", "given twice")]
    [InlineData("mode given twice", "#!::r=live/a,m=publish,m=publish", "given twice")]
    [InlineData("control character", "live/k\u0001", "control character")]
    [InlineData("only the prefix", "#!::", "is not key=value")]
    public void Refuses_malformed_stream_ids_with_a_reason(string name, string text, string reason)
    {
        Assert.False(SrtStreamId.TryParse(Utf8(text), out _, out var error), name);
        Assert.Contains(reason, error);
    }

    [Fact]
    public void Refuses_what_srt_could_not_have_sent()
    {
        Assert.False(SrtStreamId.TryParse(Utf8("live/" + new string('k', 600)), out _, out var tooLong));
        Assert.Contains("above SRT's 512", tooLong);
        Assert.False(SrtStreamId.TryParse([(byte)'l', (byte)'/', 0xC3, 0x28], out _, out var notUtf8));
        Assert.Contains("not UTF-8", notUtf8);
    }

    [Theory]
    [InlineData("#!::r=live/secret-key,m=request")]
    [InlineData("#!::secret-key")]
    [InlineData("#!::r=live/secret-key,r=live/secret-key")]
    public void A_refusal_never_repeats_the_stream_key(string text)
    {
        Assert.False(SrtStreamId.TryParse(Utf8(text), out _, out var error));
        Assert.DoesNotContain("secret", error);
    }

    [Fact]
    public void Its_text_form_hides_the_key() => Assert.Equal("live/…", new SrtStreamId("live", "secret", null).ToString());

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
