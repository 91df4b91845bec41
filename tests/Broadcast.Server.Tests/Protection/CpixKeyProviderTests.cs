using System.Diagnostics;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Live;
using Broadcast.Protection.Cpix;
using Broadcast.Protection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broadcast.Server.Tests.Protection;

/// <summary>
/// <see cref="CpixKeyProvider"/> against <see cref="CpixKeyServerStandIn"/> over loopback HTTP: a good answer is a grant
/// with the key and each system's pssh; a continued broadcast gets its own key again; every misbehaviour refuses with a
/// reason and a log event (9500), the slow one within the timeout; no key is ever logged.
/// </summary>
public sealed class CpixKeyProviderTests : IAsyncLifetime
{
    private CpixKeyServerStandIn _server = null!;
    private readonly CapturingLogger<CpixKeyProvider> _log = new();

    public async Task InitializeAsync() => _server = await CpixKeyServerStandIn.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private CpixKeyProvider Provider(double timeoutSeconds = 5, int maxBytes = 1024 * 1024) => new(new CpixOptions
    {
        Url = _server.Url.ToString(),
        Systems = ["widevine", "playready", "clearkey"],
        HeaderValue = "Bearer stand-in-token",
        TimeoutSeconds = timeoutSeconds,
        MaxResponseBytes = maxBytes,
    }, _log);

    [Fact]
    public async Task A_good_answer_is_a_grant_with_the_key_and_each_system_s_pssh()
    {
        using var provider = Provider();
        var grant = await provider.KeyForAsync("chan", EncryptionScheme.Cbcs, continuing: null, default);

        Assert.Equal(new ContentKey(grant.Key.Id, _server.KeyFor("chan", grant.Key.Id)), grant.Key);
        Assert.Equal([CpixOptions.Widevine, CpixOptions.PlayReady, CpixOptions.CommonSystem], grant.Systems.Select(s => s.SystemId));
        Assert.All(grant.Systems, s => Assert.Equal(CpixKeyServerStandIn.PsshFor(s.SystemId, grant.Key.Id), s.Pssh.ToArray()));
        Assert.Equal(grant.Systems.Select(s => s.SystemId), grant.HlsKeys.Select(h => h.SystemId));
        Assert.All(grant.HlsKeys, h =>
        {
            Assert.Equal(CpixKeyServerStandIn.HlsTagFor("#EXT-X-KEY:", h.SystemId, grant.Key.Id, "cbcs"), h.Media);
            Assert.Equal(CpixKeyServerStandIn.HlsTagFor("#EXT-X-SESSION-KEY:", h.SystemId, grant.Key.Id, "cbcs"), h.Master);
        });
        Assert.Null(grant.ClearKeyLicenseUrl);
        Assert.Null(grant.KeyUrl);
        // The packager takes it as it takes the built-in provider's.
        Assert.Equal(3, BroadcastProtection.From(EncryptionScheme.Cbcs, grant).SystemHeaders.Count);

        Assert.Contains("contentId=\"chan\"", _server.LastRequest, StringComparison.Ordinal);
        Assert.Contains(grant.Key.Id.ToUuidString(), _server.LastRequest, StringComparison.Ordinal);
        Assert.Equal("2.0", _server.LastHeaders!["X-Speke-Version"]);
        Assert.Equal("Bearer stand-in-token", _server.LastHeaders!["Authorization"]);
        Assert.StartsWith("application/xml", _server.LastHeaders!["Content-Type"], StringComparison.Ordinal);
        Assert.Contains(_log.Events, e => e.Id == 9501 && e.Text.Contains(grant.Key.Id.ToUuidString(), StringComparison.Ordinal));
        AssertNoKeyLogged(_server.KeyFor("chan", grant.Key.Id));
    }

    [Fact]
    public async Task Each_broadcast_gets_a_new_kid_and_a_continued_one_its_own_key_again()
    {
        using var provider = Provider();
        var first = await provider.KeyForAsync("chan", EncryptionScheme.Cenc, null, default);
        var second = await provider.KeyForAsync("chan", EncryptionScheme.Cenc, null, default);
        Assert.NotEqual(first.Key.Id, second.Key.Id);

        var continued = await provider.KeyForAsync("chan", EncryptionScheme.Cenc, first.Key.Id, default);
        Assert.Equal(first.Key, continued.Key);
        Assert.Contains("commonEncryptionScheme=\"cenc\"", _server.LastRequest, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(StandInBehaviour.MalformedXml, "not well-formed XML")]
    [InlineData(StandInBehaviour.WrongKid, "which was not asked")]
    [InlineData(StandInBehaviour.MissingKey, "no key for KID")]
    [InlineData(StandInBehaviour.BadBase64, "not valid base64")]
    [InlineData(StandInBehaviour.BadPssh, "is not one pssh box")]
    [InlineData(StandInBehaviour.BadHlsTag, "not one line of printable ASCII")]
    [InlineData(StandInBehaviour.EncryptedKey, "this node has no recipient key")]
    [InlineData(StandInBehaviour.ServerError, "answered 500")]
    public async Task A_misbehaving_key_server_refuses_the_broadcast_saying_why(StandInBehaviour behaviour, string reason)
    {
        _server.Behaviour = behaviour;
        using var provider = Provider();
        var refused = await Assert.ThrowsAsync<CpixRefusedException>(() => provider.KeyForAsync("chan", EncryptionScheme.Cbcs, null, default).AsTask());
        Assert.Contains(reason, refused.Message, StringComparison.Ordinal);
        var logged = Assert.Single(_log.Events, e => e.Id == 9500);
        Assert.Contains(reason, logged.Text, StringComparison.Ordinal);
        Assert.Contains("chan", logged.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(_log.Events, e => e.Id == 9501);
    }

    [Fact]
    public async Task An_oversized_answer_is_refused_without_being_read_whole()
    {
        _server.Behaviour = StandInBehaviour.Oversized;
        using var provider = Provider(maxBytes: 64 * 1024);
        var refused = await Assert.ThrowsAsync<CpixRefusedException>(() => provider.KeyForAsync("chan", EncryptionScheme.Cbcs, null, default).AsTask());
        Assert.Contains("longer than 65536 bytes", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_slow_key_server_is_refused_at_the_timeout()
    {
        _server.Behaviour = StandInBehaviour.Slow;
        using var provider = Provider(timeoutSeconds: 0.5);
        var clock = Stopwatch.StartNew();
        var refused = await Assert.ThrowsAsync<CpixRefusedException>(() => provider.KeyForAsync("chan", EncryptionScheme.Cbcs, null, default).AsTask());
        Assert.Contains("did not answer within 0.5 s", refused.Message, StringComparison.Ordinal);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.4), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task An_unreachable_key_server_and_an_aes_128_channel_are_refused()
    {
        using var provider = Provider();
        var aes = await Assert.ThrowsAsync<CpixRefusedException>(() => provider.KeyForAsync("chan", EncryptionScheme.Aes128, null, default).AsTask());
        Assert.Contains("aes-128", aes.Message, StringComparison.Ordinal);
        Assert.Equal(0, _server.Requests);

        var url = _server.Url;
        await _server.DisposeAsync();
        _server = await CpixKeyServerStandIn.StartAsync();
        using var gone = new CpixKeyProvider(new CpixOptions { Url = url.ToString() }, _log);
        var refused = await Assert.ThrowsAsync<CpixRefusedException>(() => gone.KeyForAsync("chan", EncryptionScheme.Cbcs, null, default).AsTask());
        Assert.Contains("could not be reached", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_node_with_a_key_server_set_takes_its_keys_from_it_and_a_wrong_setting_stops_its_start()
    {
        static IConfiguration Settings(string url) => new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Protection:Cpix:Url"] = url,
            ["Protection:Cpix:Systems:0"] = "playready",
        }).Build();
        await using var services = new ServiceCollection().AddLogging().AddChannelProtection(Settings(_server.Url.ToString())).BuildServiceProvider();
        var provider = Assert.IsType<CpixKeyProvider>(services.GetRequiredService<IContentKeyProvider>());
        var grant = await provider.KeyForAsync("chan", EncryptionScheme.Cbcs, null, default);
        // The configured list replaces the default one (not added to it).
        Assert.Equal([CpixOptions.PlayReady], grant.Systems.Select(s => s.SystemId));

        var refused = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddChannelProtection(Settings("http://keys.example/speke")));
        Assert.Contains("Protection:Cpix:Url", refused.Message, StringComparison.Ordinal);
    }

    private void AssertNoKeyLogged(byte[] key)
    {
        foreach (var e in _log.Events)
        {
            Assert.DoesNotContain(Convert.ToBase64String(key), e.Text, StringComparison.Ordinal);
            Assert.DoesNotContain(Convert.ToHexString(key), e.Text, StringComparison.OrdinalIgnoreCase);
        }
    }

    internal sealed class CapturingLogger<T> : ILogger<T>
    {
        private readonly List<(int Id, string Text)> _events = [];

        public IReadOnlyList<(int Id, string Text)> Events
        {
            get { lock (_events) return [.. _events]; }
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_events) _events.Add((eventId.Id, formatter(state, exception) + " " + exception));
        }
    }
}
