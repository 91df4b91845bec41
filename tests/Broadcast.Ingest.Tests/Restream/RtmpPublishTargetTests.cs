using Broadcast.Ingest.Rtmp.Client;

namespace Broadcast.Ingest.Tests.Restream;

public class RtmpPublishTargetTests
{
    public static TheoryData<string, string?, RtmpPublishTarget> Valid => new()
    {
        { "rtmp://a.rtmp.youtube.com/live2", "abcd-1234", new(false, "a.rtmp.youtube.com", 1935, "live2", "abcd-1234") },
        { "rtmps://live-api-s.facebook.com:443/rtmp/", "FB-1-2", new(true, "live-api-s.facebook.com", 443, "rtmp", "FB-1-2") },
        { "rtmps://example.com/app", "k", new(true, "example.com", 443, "app", "k") },
        { "rtmp://127.0.0.1:19350/live/inline-key", null, new(false, "127.0.0.1", 19350, "live", "inline-key") },
        { "rtmp://host/app/instance", "key", new(false, "host", 1935, "app/instance", "key") },
        { "rtmp://host/app/key?token=1", "", new(false, "host", 1935, "app", "key?token=1") },
        { "rtmp://[::1]:1936/live", "k", new(false, "::1", 1936, "live", "k") },
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void Parses(string url, string? key, RtmpPublishTarget expected)
    {
        Assert.True(RtmpPublishTarget.TryParse(url, key, out var target, out var error), error);
        Assert.Equal(expected, target);
    }

    [Theory]
    [InlineData(null, "k", "absolute")]
    [InlineData("", "k", "absolute")]
    [InlineData("not a url", "k", "absolute")]
    [InlineData("http://example.com/live", "k", "scheme 'http'")]
    [InlineData("srt://example.com:9000", "k", "scheme 'srt'")]
    [InlineData("rtmp://example.com", "k", "application path")]
    [InlineData("rtmp://example.com/", "k", "application path")]
    [InlineData("rtmp://example.com/live", null, "stream key")]
    [InlineData("rtmp://user:pw@example.com/live", "k", "user information")]
    public void Rejects(string? url, string? key, string reason)
    {
        Assert.False(RtmpPublishTarget.TryParse(url, key, out var target, out var error));
        Assert.Null(target);
        Assert.Contains(reason, error);
    }

    [Fact]
    public void ToString_and_tcUrl_never_contain_the_key()
    {
        Assert.True(RtmpPublishTarget.TryParse("rtmps://example.com:8443/live", "top-secret", out var target, out _));
        Assert.Equal("rtmps://example.com:8443/live", target!.TcUrl);
        Assert.DoesNotContain("top-secret", target.ToString());
    }
}
