using Broadcast.TestSupport.Fuzzing;
using Broadcast.Ingest.Pull.Proxy;
using Xunit.Abstractions;

namespace Broadcast.Ingest.Tests.Pull;

/// <summary>The pull proxy's request heads (RFC 9112 §3.2): what ffmpeg sends is read, anything else is refused with a reason.</summary>
public sealed class ProxyRequestHeadTests(ITestOutputHelper output)
{
    /// <summary>(name, bytes on the wire, method, host, port).</summary>
    public static TheoryData<string, string, ProxyMethod, string, int> Valid => new()
    {
        { "ffmpeg https", "CONNECT cdn.example.com:443 HTTP/1.1\r\nHost: cdn.example.com:443\r\nUser-Agent: Lavf/59.27.100\r\n\r\n", ProxyMethod.Connect, "cdn.example.com", 443 },
        { "ffmpeg http", "GET http://cdn.example.com:8080/live/index.m3u8?x=1 HTTP/1.1\r\nUser-Agent: Lavf/59.27.100\r\nAccept: */*\r\nRange: bytes=0-\r\nConnection: close\r\nHost: cdn.example.com:8080\r\nIcy-MetaData: 1\r\n\r\n", ProxyMethod.Get, "cdn.example.com", 8080 },
        { "default port", "GET http://cdn.example.com/a.ts HTTP/1.0\r\n\r\n", ProxyMethod.Get, "cdn.example.com", 80 },
        { "head", "HEAD http://127.0.0.1:9000/a.ts HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n\r\n", ProxyMethod.Head, "127.0.0.1", 9000 },
        { "ipv6 connect", "CONNECT [2001:db8::1]:443 HTTP/1.1\r\n\r\n", ProxyMethod.Connect, "[2001:db8::1]", 443 },
    };

    /// <summary>(name, bytes on the wire): each refused as <see cref="ProxyHeadStatus.Invalid"/>.</summary>
    public static TheoryData<string, string> Malformed => new()
    {
        { "origin-form GET", "GET /index.m3u8 HTTP/1.1\r\nHost: a\r\n\r\n" },
        { "https absolute-form", "GET https://cdn.example.com/a HTTP/1.1\r\n\r\n" },
        { "file URI", "GET file:///etc/passwd HTTP/1.1\r\n\r\n" },
        { "user info", "GET http://user:pw@cdn.example.com/a HTTP/1.1\r\n\r\n" },
        { "POST", "POST http://cdn.example.com/a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc" },
        { "body on GET", "GET http://cdn.example.com/a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" },
        { "CONNECT without port", "CONNECT cdn.example.com HTTP/1.1\r\n\r\n" },
        { "CONNECT port 0", "CONNECT cdn.example.com:0 HTTP/1.1\r\n\r\n" },
        { "CONNECT port too big", "CONNECT cdn.example.com:70000 HTTP/1.1\r\n\r\n" },
        { "CONNECT bad host", "CONNECT bad_host!:443 HTTP/1.1\r\n\r\n" },
        { "HTTP/2", "GET http://cdn.example.com/a HTTP/2.0\r\n\r\n" },
        { "two spaces", "GET  http://cdn.example.com/a HTTP/1.1\r\n\r\n" },
        { "space before colon", "GET http://cdn.example.com/a HTTP/1.1\r\nHost : a\r\n\r\n" },
        { "folded field", "GET http://cdn.example.com/a HTTP/1.1\r\nX-A: 1\r\n 2\r\n\r\n" },
        { "bare LF in field", "GET http://cdn.example.com/a HTTP/1.1\r\nX-A: 1\nX-B: 2\r\n\r\n" },
        { "NUL", "GET http://cdn.example.com/a\0 HTTP/1.1\r\n\r\n" },
        { "empty", "\r\n\r\n" },
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void Reads_what_ffmpeg_sends(string name, string wire, ProxyMethod method, string host, int port)
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes(wire + "tail");
        Assert.Equal(ProxyHeadStatus.Complete, ProxyRequestHead.TryRead(bytes, out var head, out var error));
        Assert.Null(error);
        Assert.Equal(method, head!.Method);
        Assert.Equal(host, head.Host);
        Assert.Equal(port, head.Port);
        Assert.Equal(wire.Length, head.Length); // what follows the head is not part of it
        Assert.False(string.IsNullOrEmpty(name));
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Refuses_malformed_or_unserved_requests_with_a_reason(string name, string wire)
    {
        Assert.Equal(ProxyHeadStatus.Invalid, ProxyRequestHead.TryRead(System.Text.Encoding.Latin1.GetBytes(wire), out var head, out var error));
        Assert.Null(head);
        Assert.False(string.IsNullOrWhiteSpace(error), name);
    }

    [Fact]
    public void Waits_for_the_blank_line_up_to_16_KiB_then_refuses()
    {
        Assert.Equal(ProxyHeadStatus.NeedMore, ProxyRequestHead.TryRead("GET http://a/ HTTP/1.1\r\nHost: a\r\n"u8, out _, out _));
        var huge = System.Text.Encoding.ASCII.GetBytes("GET http://a/ HTTP/1.1\r\nX: " + new string('a', ProxyRequestHead.MaxBytes) + "\r\n\r\n");
        Assert.Equal(ProxyHeadStatus.Invalid, ProxyRequestHead.TryRead(huge.AsSpan(0, ProxyRequestHead.MaxBytes), out _, out var error));
        Assert.Contains("16 KiB", error, StringComparison.Ordinal);
        var many = "GET http://a/ HTTP/1.1\r\n" + string.Concat(Enumerable.Range(0, ProxyRequestHead.MaxFields + 1).Select(i => $"X-{i}: 1\r\n")) + "\r\n";
        Assert.Equal(ProxyHeadStatus.Invalid, ProxyRequestHead.TryRead(System.Text.Encoding.ASCII.GetBytes(many), out _, out _));
    }

    [Fact]
    public void A_forwarded_get_is_origin_form_without_proxy_or_hop_by_hop_fields()
    {
        var wire = "GET http://cdn.example.com:8080/live/a.ts?t=1 HTTP/1.1\r\nUser-Agent: Lavf\r\nProxy-Authorization: Basic eA==\r\nProxy-Connection: keep-alive\r\nConnection: keep-alive\r\nHost: cdn.example.com:8080\r\n\r\n";
        Assert.Equal(ProxyHeadStatus.Complete, ProxyRequestHead.TryRead(System.Text.Encoding.ASCII.GetBytes(wire), out var head, out _));
        Assert.Equal("GET /live/a.ts?t=1 HTTP/1.1\r\nUser-Agent: Lavf\r\nHost: cdn.example.com:8080\r\nConnection: close\r\n\r\n", System.Text.Encoding.ASCII.GetString(head!.ToOriginRequest()));

        Assert.Equal(ProxyHeadStatus.Complete, ProxyRequestHead.TryRead("GET http://cdn.example.com/a HTTP/1.0\r\n\r\n"u8, out var noHost, out _));
        Assert.Contains("\r\nHost: cdn.example.com\r\n", System.Text.Encoding.ASCII.GetString(noHost!.ToOriginRequest()), StringComparison.Ordinal);
    }

    [Fact]
    public void Fuzz()
    {
        var seeds = Valid.Select(row => System.Text.Encoding.ASCII.GetBytes((string)row[1])).Concat(Malformed.Select(row => System.Text.Encoding.Latin1.GetBytes((string)row[1]))).ToList();
        var report = FuzzRunner.Run("proxy request head", seeds, (input, random) =>
        {
            var status = ProxyRequestHead.TryRead(input, out var head, out var error);
            if (status == ProxyHeadStatus.Invalid && string.IsNullOrEmpty(error)) throw new FuzzFailure("refused without a reason");
            if (status == ProxyHeadStatus.Complete)
            {
                if (head!.Length > input.Length || head.Port is < 1 or > 65535) throw new FuzzFailure("a head outside its input or a bad port");
                if (head.Method != ProxyMethod.Connect) _ = head.ToOriginRequest();
            }

            return status == ProxyHeadStatus.Complete;
        });
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }
}
