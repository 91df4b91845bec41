using Broadcast.Control.Protection;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Live;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Server.Tests.Protection;

/// <summary>
/// A control-only node (no packager) composes the key provider as an ingest node does: its clip finisher cuts a protected
/// clip's ends with the broadcast's key, read back for the KID the stored init names (docs/protection.md, "Clips of protected
/// broadcasts"), where it had left such clips segment-accurate for want of a provider; and the dashboard's "Test key" on that
/// node asks the provider instead of saying there is none.
/// </summary>
public sealed class ControlNodeKeysTests
{
    [Fact]
    public async Task A_control_only_node_reads_a_broadcasts_key_back_for_its_clip_ends_and_tests_its_provider()
    {
        await using var server = await InProcessServer.StartAsync("--Roles=control");
        Assert.Null(server.Services.GetService<LivePackager>());
        var channel = await server.CreateChannelAsync("Keys on control");

        var keys = server.Services.GetRequiredService<IContentKeyProvider>();
        var made = await keys.KeyForAsync(channel.Slug, EncryptionScheme.Cbcs, null, CancellationToken.None);
        var again = await keys.KeyForAsync(channel.Slug, EncryptionScheme.Cbcs, made.Key.Id, CancellationToken.None);
        Assert.True(made.Key == again.Key, "the KID an init names did not give its key back");

        Assert.IsNotType<NoProtectionKeyCheck>(server.Services.GetRequiredService<IProtectionKeyCheck>());
    }
}
