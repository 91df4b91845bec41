using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Broadcast.Control;
using Broadcast.Control.Channels;
using Broadcast.Control.Dashboard.Pages;
using Broadcast.Control.Persistence;
using Broadcast.Control.Protection;
using Broadcast.Control.Security;
using Broadcast.Media;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Live;
using Broadcast.Protection;
using Broadcast.Protection.Cpix;
using Broadcast.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Server.Tests.Protection;

/// <summary>
/// The dashboard's "Test key" as the server composes it (<c>AddChannelProtection</c>): over the built-in ClearKey provider
/// (SQLite) a key is asked for as a broadcast's start asks, its KID and systems reported, and the test's key deleted again
/// while a live broadcast's key stays; over a CPIX key server (the stand-in) the systems, pssh and HLS key formats it gave,
/// and its refusal (a wrong KID) in the packager's words. The key itself is in no result and no page text.
/// </summary>
public sealed partial class ProtectionKeyCheckTests() : ChannelKeysTest("key-check")
{
    private ServiceProvider Compose(IConfiguration? configuration = null) => new ServiceCollection()
        .AddSingleton(Channels).AddSingleton(Keys).AddSingleton(new ControlSettings())
        .AddSingleton<ILogger<CpixKeyProvider>>(NullLogger<CpixKeyProvider>.Instance)
        .AddChannelProtection(configuration)
        .BuildServiceProvider();

    private async Task<long> StoredKeysAsync(string channelId)
    {
        await using var connection = await Database.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM content_keys WHERE channel_id = @c";
        var parameter = command.CreateParameter();
        parameter.ParameterName = "c";
        parameter.Value = channelId;
        command.Parameters.Add(parameter);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task ClearKey_reports_the_kid_and_system_keeps_no_test_key_and_leaves_the_live_broadcast_s_key()
    {
        await using var services = Compose();
        var check = services.GetRequiredService<IProtectionKeyCheck>();
        Assert.StartsWith("built-in ClearKey", check.KeySource, StringComparison.Ordinal);
        var channel = (await Channels.CreateAsync(new ChannelSpec("Paid final", Protection: ChannelProtection.Cbcs))).Channel;
        // A broadcast on air, with its key from the same provider instance.
        var live = (await services.GetRequiredService<IContentProtectionPolicy>().ProtectionAsync(new LiveStream(channel.Slug), null, default))!;
        Assert.Equal(1, await StoredKeysAsync(channel.Id));

        var result = await check.CheckAsync(channel.Slug, ChannelProtection.Cbcs, default);

        Assert.True(result.Succeeded, result.Refusal);
        Assert.Matches(Uuid(), result.KeyId!);
        Assert.NotEqual(live.Key.Id.ToUuidString(), result.KeyId);
        Assert.Equal(["W3C common (ClearKey) (1077efec-c0b2-4d02-ace3-3c1e52e2fb4b)"], result.Systems);
        Assert.Equal(1, result.PsshCount);
        Assert.Empty(result.HlsKeyFormats);
        Assert.Equal($"/live/{channel.Slug}/license", result.LicenseUrl);
        AssertNoKeyIn(result);
        // The test's key is gone; the live broadcast's is there, unchanged.
        Assert.Equal(1, await StoredKeysAsync(channel.Id));
        var kept = Assert.Single(await Keys.FindAsync(channel.Id, [live.Key.Id.ToArray()]));
        Assert.Equal(live.Key, new ContentKey(live.Key.Id, kept.Key));

        var aes = await check.CheckAsync(channel.Slug, ChannelProtection.Aes128, default);
        Assert.True(aes.Succeeded, aes.Refusal);
        Assert.StartsWith($"/live/{channel.Slug}/key/", aes.KeyUrl, StringComparison.Ordinal);
        AssertNoKeyIn(aes);
        Assert.Equal(1, await StoredKeysAsync(channel.Id));

        var none = await check.CheckAsync(channel.Slug, ChannelProtection.None, default);
        Assert.False(none.Succeeded);
        Assert.Contains("protection is none", none.Refusal, StringComparison.Ordinal);
        // The provider's own refusal, as the packager's start would fail with it.
        var missing = await check.CheckAsync("no-such-channel", ChannelProtection.Cenc, default);
        Assert.False(missing.Succeeded);
        Assert.Contains("No channel 'no-such-channel'", missing.Refusal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cpix_reports_systems_pssh_and_hls_key_formats_and_a_wrong_kid_is_refused_as_the_packager_would()
    {
        await using var server = await CpixKeyServerStandIn.StartAsync();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Protection:Cpix:Url"] = server.Url.ToString(),
            ["Protection:Cpix:Systems:0"] = "widevine",
            ["Protection:Cpix:Systems:1"] = "fairplay",
            ["Protection:Cpix:HeaderValue"] = "Bearer stand-in-secret-token",
        }).Build();
        await using var services = Compose(configuration);
        var check = services.GetRequiredService<IProtectionKeyCheck>();
        Assert.Equal($"CPIX key server at {server.Url.Authority}", check.KeySource);
        Assert.DoesNotContain("stand-in-secret-token", check.KeySource, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Url.AbsolutePath.Trim('/') is { Length: > 0 } path ? path : "\u0000", check.KeySource, StringComparison.Ordinal);

        var result = await check.CheckAsync("paid-final", ChannelProtection.Cbcs, default);
        Assert.True(result.Succeeded, result.Refusal);
        Assert.Equal(["Widevine (edef8ba9-79d6-4ace-a3c8-27dcd51d21ed)", "FairPlay (94ce86fb-07ff-4f43-adb8-93d2fa968ca2)"], result.Systems);
        var kid = KeyId.FromBytes(Convert.FromHexString(result.KeyId!.Replace("-", "", StringComparison.Ordinal)));
        // FairPlay has no pssh (CPIX request: none asked); its key is signalled by its HLS key tag alone.
        Assert.Equal(1, result.PsshCount);
        Assert.Equal(["urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed", "com.apple.streamingkeydelivery"], result.HlsKeyFormats);
        Assert.Null(result.LicenseUrl);
        Assert.Contains("contentId=\"paid-final\"", server.LastRequest, StringComparison.Ordinal);
        byte[] key = server.KeyFor("paid-final", kid);
        string shown = JsonSerializer.Serialize(result) + ChannelProtectionFacts.Outcome(result);
        Assert.DoesNotContain(Convert.ToBase64String(key), shown, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexString(key), shown, StringComparison.OrdinalIgnoreCase);
        AssertNoKeyIn(result);

        server.Behaviour = StandInBehaviour.WrongKid;
        var refused = await check.CheckAsync("paid-final", ChannelProtection.Cbcs, default);
        Assert.False(refused.Succeeded);
        Assert.Null(refused.KeyId);
        Assert.Contains("which was not asked", refused.Refusal, StringComparison.Ordinal);
        Assert.StartsWith("Key test refused: ", ChannelProtectionFacts.Outcome(refused), StringComparison.Ordinal);

        server.Behaviour = StandInBehaviour.Good;
        var aes = await check.CheckAsync("paid-final", ChannelProtection.Aes128, default);
        Assert.False(aes.Succeeded);
        Assert.Contains("use cenc or cbcs with a DRM key server", aes.Refusal, StringComparison.Ordinal);
    }

    /// <summary>Neither a 16-byte key's hex (32 hex digits in a row) nor its base64 in what is shown, but for the KID's own (the
    /// AES-128 key URL names the KID in hex).</summary>
    private static void AssertNoKeyIn(ProtectionKeyCheckResult result)
    {
        string kidHex = result.KeyId!.Replace("-", "", StringComparison.Ordinal);
        string shown = (JsonSerializer.Serialize(result) + " " + ChannelProtectionFacts.Outcome(result)).Replace(kidHex, "KID", StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotMatch(Hex32(), shown);
        Assert.DoesNotMatch(Base64Of16(), shown);
    }

    [GeneratedRegex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    private static partial Regex Uuid();

    [GeneratedRegex("[0-9a-fA-F]{32}")]
    private static partial Regex Hex32();

    [GeneratedRegex("[A-Za-z0-9+/]{22}==")]
    private static partial Regex Base64Of16();
}
