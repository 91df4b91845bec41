using System.Security.Cryptography;
using Broadcast.Control;
using Broadcast.Control.Channels;
using Broadcast.Control.Persistence;
using Broadcast.Control.Protection;
using Broadcast.Control.Security;
using Broadcast.Media;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Live;
using Broadcast.Protection;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Server.Tests.Protection;

/// <summary>
/// The server's protection policy as the packager asks it (<c>AddChannelProtection</c> over control's channels and key
/// store, SQLite): a broadcast takes its channel's setting and a fresh key; a broadcast continued after its node died keeps
/// its scheme and its very key, whatever the setting says now, so its players need no new license; a KID the store no
/// longer holds gets a fresh key rather than refusing the broadcast.
/// </summary>
public sealed class ChannelContentProtectionTests() : ChannelKeysTest("protection")
{
    private ServiceProvider _services = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _services = new ServiceCollection()
            .AddSingleton(Channels).AddSingleton(Keys).AddSingleton(new ControlSettings())
            .AddChannelProtection()
            .BuildServiceProvider();
    }

    public override async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await base.DisposeAsync();
    }

    private IContentProtectionPolicy Policy => _services.GetRequiredService<IContentProtectionPolicy>();

    private static LiveStream Stream(string slug) => new(slug);

    private async Task<string> ChannelIdAsync(string slug) => (await Channels.GetBySlugAsync(slug))!.Id;

    [Fact]
    public async Task A_new_broadcast_takes_its_channel_s_setting_and_a_fresh_key_each_time()
    {
        var channel = (await Channels.CreateAsync(new ChannelSpec("Paid final", Protection: ChannelProtection.Cbcs))).Channel;
        var first = (await Policy.ProtectionAsync(Stream(channel.Slug), continuing: null, default))!;
        var second = (await Policy.ProtectionAsync(Stream(channel.Slug), continuing: null, default))!;
        Assert.Equal(EncryptionScheme.Cbcs, first.Scheme);
        Assert.NotEqual(first.Key.Id, second.Key.Id);
        Assert.Equal($"/live/{channel.Slug}/license", first.ClearKeyLicenseUrl);

        var clear = (await Channels.CreateAsync(new ChannelSpec("Free warm-up"))).Channel;
        Assert.Null(await Policy.ProtectionAsync(Stream(clear.Slug), continuing: null, default));
    }

    [Fact]
    public async Task A_continued_broadcast_keeps_its_scheme_and_key_even_after_the_setting_changed()
    {
        var channel = (await Channels.CreateAsync(new ChannelSpec("Paid final", Protection: ChannelProtection.Cenc))).Channel;
        var before = (await Policy.ProtectionAsync(Stream(channel.Slug), continuing: null, default))!;
        var kept = ProtectionState.Of(before);

        // The admin turns protection off (it applies from the next broadcast); this one goes on after its node died.
        await Channels.SetProtectionAsync(channel.Id, ChannelProtection.None);
        var continued = (await Policy.ProtectionAsync(Stream(channel.Slug), kept, default))!;
        Assert.Equal(EncryptionScheme.Cenc, continued.Scheme);
        Assert.Equal(before.Key, continued.Key);
        var stored = Assert.Single(await Keys.FindAsync(await ChannelIdAsync(channel.Slug), [before.Key.Id.ToArray()]));
        Span<byte> key = stackalloc byte[16];
        continued.Key.CopyKeyTo(key);
        Assert.Equal(stored.Key, key.ToArray());
        // No second key was made for it.
        Assert.Empty(await Keys.FindAsync(await ChannelIdAsync(channel.Slug), [RandomNumberGenerator.GetBytes(16)]));

        // The next new broadcast follows the setting: clear.
        Assert.Null(await Policy.ProtectionAsync(Stream(channel.Slug), continuing: null, default));
    }

    [Fact]
    public async Task A_kid_the_store_does_not_hold_gets_a_fresh_key_in_the_kept_scheme()
    {
        var channel = (await Channels.CreateAsync(new ChannelSpec("Paid final", Protection: ChannelProtection.Cenc))).Channel;
        var unknown = new ProtectionState("cbcs", Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
        var continued = (await Policy.ProtectionAsync(Stream(channel.Slug), unknown, default))!;
        Assert.Equal(EncryptionScheme.Cbcs, continued.Scheme);
        Assert.NotEqual(unknown.ToKeyId(), continued.Key.Id);
        Assert.Single(await Keys.FindAsync(await ChannelIdAsync(channel.Slug), [continued.Key.Id.ToArray()]));
    }

}
