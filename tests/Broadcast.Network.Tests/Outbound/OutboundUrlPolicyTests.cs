using System.Net;
using Broadcast.Network.Outbound;

namespace Broadcast.Network.Tests.Outbound;

/// <summary>The outbound URL policy's decision on a case table: no network, no DNS (addresses are given, names resolve through a fake).</summary>
public sealed class OutboundUrlPolicyTests
{
    // (address, kind): every special range, IPv4 and IPv6, and the IPv6 forms that carry an IPv4 address.
    public static TheoryData<string, AddressKind> Addresses => new()
    {
        { "8.8.8.8", AddressKind.Public },
        { "93.184.216.34", AddressKind.Public },
        { "127.0.0.1", AddressKind.Loopback },
        { "127.255.255.254", AddressKind.Loopback },
        { "169.254.169.254", AddressKind.LinkLocal },
        { "169.254.0.1", AddressKind.LinkLocal },
        { "10.0.0.1", AddressKind.Private },
        { "10.255.255.255", AddressKind.Private },
        { "172.16.0.1", AddressKind.Private },
        { "172.31.255.255", AddressKind.Private },
        { "172.32.0.1", AddressKind.Public },
        { "172.15.255.255", AddressKind.Public },
        { "192.168.1.1", AddressKind.Private },
        { "100.64.0.1", AddressKind.SharedAddressSpace },
        { "100.127.255.255", AddressKind.SharedAddressSpace },
        { "100.128.0.1", AddressKind.Public },
        { "0.0.0.0", AddressKind.Unspecified },
        { "0.1.2.3", AddressKind.Unspecified },
        { "224.0.0.1", AddressKind.Multicast },
        { "239.255.255.250", AddressKind.Multicast },
        { "255.255.255.255", AddressKind.Broadcast },
        { "240.0.0.1", AddressKind.Reserved },
        { "192.0.0.170", AddressKind.Reserved },
        { "192.0.2.1", AddressKind.Reserved },
        { "198.18.0.1", AddressKind.Reserved },
        { "198.51.100.1", AddressKind.Reserved },
        { "203.0.113.1", AddressKind.Reserved },
        { "::1", AddressKind.Loopback },
        { "::", AddressKind.Unspecified },
        { "fe80::1", AddressKind.LinkLocal },
        { "febf::1", AddressKind.LinkLocal },
        { "fec0::1", AddressKind.Private },
        { "fc00::1", AddressKind.UniqueLocal },
        { "fd12:3456::1", AddressKind.UniqueLocal },
        { "ff02::1", AddressKind.Multicast },
        { "2001:4860:4860::8888", AddressKind.Public },
        { "2606:4700::1111", AddressKind.Public },
        { "2001:db8::1", AddressKind.Reserved },
        { "2001::1", AddressKind.Reserved },
        { "100::1", AddressKind.Reserved },
        { "::127.0.0.1", AddressKind.Reserved },
        { "::ffff:127.0.0.1", AddressKind.Loopback },
        { "::ffff:169.254.169.254", AddressKind.LinkLocal },
        { "::ffff:10.1.2.3", AddressKind.Private },
        { "::ffff:172.16.0.1", AddressKind.Private },
        { "::ffff:192.168.0.1", AddressKind.Private },
        { "::ffff:100.64.0.1", AddressKind.SharedAddressSpace },
        { "::ffff:0.0.0.0", AddressKind.Unspecified },
        { "::ffff:224.0.0.1", AddressKind.Multicast },
        { "::ffff:255.255.255.255", AddressKind.Broadcast },
        { "::ffff:8.8.8.8", AddressKind.Public },
        { "64:ff9b::a9fe:a9fe", AddressKind.LinkLocal },
        { "64:ff9b::0a00:0001", AddressKind.Private },
        { "64:ff9b::808:808", AddressKind.Public },
        { "64:ff9b:1::1", AddressKind.Reserved },
        { "2002:7f00:0001::1", AddressKind.Loopback },
        { "2002:c0a8:0101::1", AddressKind.Private },
        { "2002:0808:0808::1", AddressKind.Public },
        { "3fff::1", AddressKind.Public },
        { "4000::1", AddressKind.Reserved },
    };

    [Theory]
    [MemberData(nameof(Addresses))]
    public void Addresses_are_classified(string address, AddressKind kind) => Assert.Equal(kind, AddressKinds.Classify(IPAddress.Parse(address)));

    [Theory]
    [MemberData(nameof(Addresses))]
    public void Only_public_addresses_pass_by_default_in_every_scheme(string address, AddressKind kind)
    {
        var policy = new OutboundUrlPolicy();
        string host = address.Contains(':', StringComparison.Ordinal) ? $"[{address}]" : address;
        foreach (var url in new[] { $"rtmp://{host}/live/key", $"rtmps://{host}/live/key", $"srt://{host}:9000", $"http://{host}/a.m3u8", $"https://{host}/a.m3u8" })
        {
            var literal = policy.Decide(new Uri(url), [IPAddress.Parse(address)]);
            var named = policy.Decide(new Uri(url.Replace(host, "media.example.com", StringComparison.Ordinal)), [IPAddress.Parse(address)]);
            if (kind == AddressKind.Public)
            {
                Assert.True(literal.IsAllowed, $"{url}: {literal}");
                Assert.True(named.IsAllowed, $"{url} by name: {named}");
            }
            else
            {
                Assert.Equal((OutboundVerdict.Refused, OutboundRefusal.Address, kind), (literal.Verdict, literal.Refusal, literal.Address));
                Assert.Equal(kind.Describe(), literal.Reason);
                Assert.Equal((OutboundVerdict.Refused, OutboundRefusal.Address, kind), (named.Verdict, named.Refusal, named.Address));
                Assert.Equal("the host resolves to " + kind.Describe(), named.Reason);
                Assert.StartsWith("refused by outbound policy: ", named.Describe(), StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void Every_resolved_address_must_pass()
    {
        var policy = new OutboundUrlPolicy();
        var url = new Uri("https://cdn.example.com/live.m3u8");
        Assert.True(policy.Decide(url, [IPAddress.Parse("93.184.216.34"), IPAddress.Parse("2606:2800:220:1::1")]).IsAllowed);
        var mixed = policy.Decide(url, [IPAddress.Parse("93.184.216.34"), IPAddress.Parse("169.254.169.254")]);
        Assert.Equal(AddressKind.LinkLocal, mixed.Address);
        var mapped = policy.Decide(url, [IPAddress.Parse("93.184.216.34"), IPAddress.Parse("::ffff:127.0.0.1")]);
        Assert.Equal(AddressKind.Loopback, mapped.Address);
        Assert.Equal(OutboundVerdict.HostNotFound, policy.Decide(url, []).Verdict);
        Assert.Equal("host not found", policy.Decide(url, []).Describe());
    }

    // (url, refusal, words in the reason): the rules no allow-list lifts.
    public static TheoryData<string, OutboundRefusal, string> UrlRules => new()
    {
        { "file:///etc/passwd", OutboundRefusal.Scheme, "'file'" },
        { "concat:http://a/b|http://c/d", OutboundRefusal.Scheme, "'concat'" },
        { "subfile:///etc/passwd", OutboundRefusal.Scheme, "'subfile'" },
        { "pipe:0", OutboundRefusal.Scheme, "'pipe'" },
        { "udp://8.8.8.8:1234", OutboundRefusal.Scheme, "'udp'" },
        { "tcp://8.8.8.8:1234", OutboundRefusal.Scheme, "'tcp'" },
        { "rtsp://8.8.8.8/cam", OutboundRefusal.Scheme, "'rtsp'" },
        { "ftp://8.8.8.8/a.mp4", OutboundRefusal.Scheme, "'ftp'" },
        { "gopher://8.8.8.8/a", OutboundRefusal.Scheme, "'gopher'" },
        { "rtmpt://8.8.8.8/live/k", OutboundRefusal.Scheme, "'rtmpt'" },
        { "srt://8.8.8.8", OutboundRefusal.Malformed, "needs a port" },
        { "srt://8.8.8.8:9000?mode=listener", OutboundRefusal.Listener, "mode=listener" },
        { "srt://0.0.0.0:9000?mode=listener", OutboundRefusal.Listener, "mode=listener" },
        { "srt://8.8.8.8:9000?mode=rendezvous", OutboundRefusal.Listener, "mode=rendezvous" },
        { "srt://8.8.8.8:9000?MODE=Listener", OutboundRefusal.Listener, "only caller mode" },
        { "srt://8.8.8.8:9000?mode=1", OutboundRefusal.Listener, "mode=1" },
        { "srt://8.8.8.8:9000?listen_timeout=5000", OutboundRefusal.Listener, "listen" },
        { "srt://8.8.8.8:9000?localport=9000", OutboundRefusal.Option, "'localport'" },
        { "srt://8.8.8.8:9000?localip=0.0.0.0", OutboundRefusal.Option, "'localip'" },
        { "rtmp://8.8.8.8/live/key?listen=1", OutboundRefusal.Listener, "'listen'" },
        { "http://8.8.8.8/live.m3u8?listen=1", OutboundRefusal.Listener, "'listen'" },
        { "https://8.8.8.8/live.m3u8?a=b&listen", OutboundRefusal.Listener, "'listen'" },
        { "rtmp://8.8.8.8/live\\key", OutboundRefusal.Malformed, "backslash" },
        { "http://8.8.8.8/a\\b.m3u8", OutboundRefusal.Malformed, "backslash" },
    };

    [Theory]
    [MemberData(nameof(UrlRules))]
    public void Url_rules_refuse_schemes_listeners_and_options_even_when_allow_listed(string url, OutboundRefusal refusal, string words)
    {
        var everything = new OutboundUrlPolicy(OutboundAllowList.Parse(["*.example.com", "8.8.8.8", "0.0.0.0"], ["0.0.0.0/0", "::/0"]));
        var decision = everything.Decide(new Uri(url), [IPAddress.Parse("8.8.8.8")]);
        Assert.Equal(OutboundVerdict.Refused, decision.Verdict);
        Assert.Equal(refusal, decision.Refusal);
        Assert.Contains(words, decision.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("srt://8.8.8.8:9000")]
    [InlineData("srt://8.8.8.8:9000?mode=caller")]
    [InlineData("srt://8.8.8.8:9000?streamid=%23!%3A%3Ar%3Dlive%2Fkey%2Cm%3Drequest&latency=200000&passphrase=0123456789ab&pbkeylen=16")]
    [InlineData("rtmp://8.8.8.8/live/key?token=abc")]
    [InlineData("rtmps://8.8.8.8:443/live/key")]
    [InlineData("http://8.8.8.8:8080/live/index.m3u8")]
    [InlineData("https://user:pw@8.8.8.8/live/index.m3u8?token=1")]
    public void Caller_urls_pass(string url) => Assert.True(new OutboundUrlPolicy().Decide(new Uri(url), [IPAddress.Parse("8.8.8.8")]).IsAllowed);

    [Theory]
    [InlineData("rtmp://8.8.8.8:22/live/k", false)]
    [InlineData("http://8.8.8.8:25/a.m3u8", false)]
    [InlineData("srt://8.8.8.8:53", false)]
    [InlineData("http://8.8.8.8:1023/a.m3u8", false)]
    [InlineData("rtmp://8.8.8.8:80/live/k", true)]
    [InlineData("rtmp://8.8.8.8:443/live/k", true)]
    [InlineData("http://8.8.8.8/a.m3u8", true)]
    [InlineData("rtmp://8.8.8.8/live/k", true)]
    [InlineData("srt://8.8.8.8:1024", true)]
    public void Ports_below_1024_other_than_80_and_443_are_refused(string url, bool allowed)
    {
        var decision = new OutboundUrlPolicy().Decide(new Uri(url), [IPAddress.Parse("8.8.8.8")]);
        Assert.Equal(allowed, decision.IsAllowed);
        if (!allowed) Assert.Equal(OutboundRefusal.Port, decision.Refusal);
    }

    [Fact]
    public void The_allow_list_opens_named_hosts_and_networks_and_nothing_else()
    {
        var policy = new OutboundUrlPolicy(OutboundAllowList.Parse(["studio.internal", "*.lan.example.com", "127.0.0.1"], ["10.1.0.0/16", "fd00::/8", "192.168.5.7"]));
        IPAddress Ip(string s) => IPAddress.Parse(s);
        bool Allowed(string url, params string[] addresses) => policy.Decide(new Uri(url), addresses.Select(Ip).ToList()).IsAllowed;

        // Listed host names: whatever they resolve to (but never unspecified, multicast, broadcast), any port.
        Assert.True(Allowed("rtmp://studio.internal/live/k", "10.9.9.9"));
        Assert.True(Allowed("rtmp://STUDIO.internal:554/live/k", "192.168.0.10"));
        Assert.True(Allowed("rtmp://cam1.lan.example.com/live/k", "169.254.10.10"));
        Assert.False(Allowed("rtmp://lan.example.com/live/k", "10.9.9.9"));
        Assert.False(Allowed("rtmp://studio.internal/live/k", "0.0.0.0"));
        Assert.False(Allowed("srt://studio.internal:9000", "224.0.0.1"));
        // A listed IP literal host.
        Assert.True(Allowed("http://127.0.0.1:8080/a.m3u8", "127.0.0.1"));
        Assert.False(Allowed("http://127.0.0.2:8080/a.m3u8", "127.0.0.2"));
        Assert.False(Allowed("http://[::1]:8080/a.m3u8", "::1"));
        // Listed networks: every address inside (mapped forms too); a name is not enough.
        Assert.True(Allowed("rtmp://10.1.2.3/live/k", "10.1.2.3"));
        Assert.True(Allowed("rtmp://[::ffff:10.1.2.3]/live/k", "::ffff:10.1.2.3"));
        Assert.True(Allowed("rtmp://encoder.example.com/live/k", "10.1.200.1", "10.1.0.9"));
        Assert.False(Allowed("rtmp://encoder.example.com/live/k", "10.1.200.1", "10.2.0.9"));
        Assert.True(Allowed("srt://[fd00::5]:9000", "fd00::5"));
        Assert.False(Allowed("srt://[fc00::5]:9000", "fc00::5"));
        Assert.True(Allowed("rtmp://192.168.5.7/live/k", "192.168.5.7"));
        Assert.False(Allowed("rtmp://192.168.5.8/live/k", "192.168.5.8"));
        // The port rule is lifted for listed destinations only.
        Assert.True(Allowed("rtmp://10.1.2.3:554/live/k", "10.1.2.3"));
        Assert.False(Allowed("rtmp://8.8.8.8:554/live/k", "8.8.8.8"));
        // Schemes and listener modes stay refused.
        Assert.False(Allowed("srt://studio.internal:9000?mode=listener", "10.9.9.9"));
        Assert.False(Allowed("file://studio.internal/etc/passwd", "10.9.9.9"));
    }

    [Theory]
    [InlineData("not a host!", "")]
    [InlineData("", "10.0.0.0/33")]
    [InlineData("", "ten.zero")]
    public void Bad_allow_list_entries_name_themselves(string hosts, string networks)
    {
        var e = Assert.Throws<FormatException>(() => OutboundAllowList.Parse([hosts], [networks]));
        Assert.Contains(hosts.Length > 0 ? "not a host" : networks, e.Message, StringComparison.Ordinal);
    }

    private sealed class FakeResolver(Dictionary<string, string[]> names) : IHostResolver
    {
        public List<string> Asked { get; } = [];

        public Task<IReadOnlyList<IPAddress>> ResolveAsync(string host, CancellationToken cancellationToken)
        {
            Asked.Add(host);
            return Task.FromResult<IReadOnlyList<IPAddress>>(names.TryGetValue(host, out var a) ? a.Select(IPAddress.Parse).ToList() : []);
        }
    }

    [Fact]
    public async Task The_guard_resolves_names_checks_every_address_and_never_looks_up_literals_or_refused_urls()
    {
        var resolver = new FakeResolver(new Dictionary<string, string[]>
        {
            ["cdn.example.com"] = ["93.184.216.34"],
            ["metadata.example.com"] = ["169.254.169.254"],
            ["rebind.example.com"] = ["93.184.216.34", "127.0.0.1"],
            ["xn--bcher-kva.example"] = ["93.184.216.35"],
        });
        var guard = new OutboundGuard(new OutboundUrlPolicy(), resolver);

        var ok = await guard.CheckAsync(new Uri("https://cdn.example.com/live.m3u8"), CancellationToken.None);
        Assert.True(ok.IsAllowed);
        Assert.Equal([IPAddress.Parse("93.184.216.34")], ok.Addresses);
        Assert.Equal(AddressKind.LinkLocal, (await guard.CheckAsync(new Uri("rtmp://metadata.example.com/live/k"), CancellationToken.None)).Decision.Address);
        Assert.Equal(AddressKind.Loopback, (await guard.CheckAsync(new Uri("rtmp://rebind.example.com/live/k"), CancellationToken.None)).Decision.Address);
        Assert.Equal(OutboundVerdict.HostNotFound, (await guard.CheckAsync(new Uri("rtmp://missing.example.com/live/k"), CancellationToken.None)).Decision.Verdict);
        Assert.True((await guard.CheckAsync(new Uri("http://bücher.example/a.m3u8"), CancellationToken.None)).IsAllowed);

        resolver.Asked.Clear();
        Assert.False((await guard.CheckAsync(new Uri("http://127.0.0.1/a.m3u8"), CancellationToken.None)).IsAllowed);
        Assert.False((await guard.CheckAsync(new Uri("http://[::ffff:7f00:1]/a.m3u8"), CancellationToken.None)).IsAllowed);
        Assert.False((await guard.CheckAsync(new Uri("srt://cdn.example.com:9000?mode=listener"), CancellationToken.None)).IsAllowed);
        Assert.Empty(resolver.Asked);
    }
}
