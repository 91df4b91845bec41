using Broadcast.Media;
using Broadcast.Packager;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Live;
using Broadcast.Protection.Cpix;
using Broadcast.Storage;
using Broadcast.TestSupport;
using Microsoft.Extensions.Options;

namespace Broadcast.Server.Tests.Protection;

/// <summary>
/// A key server's bad answer at a broadcast's start, through the live packager: the broadcast is not packaged (the
/// packager logs 4003 with the provider's reason, the provider 9500), nothing is written for it, and what an earlier
/// broadcast of the channel stored is untouched.
/// </summary>
public sealed class CpixRefusalPackagingTests() : CpixPackagingTest("cpix-refusal")
{
    /// <summary>Every broadcast 'cbcs' with the CPIX provider's key, as the server's channel policy asks it.</summary>
    private sealed class CpixPolicy(IContentKeyProvider keys) : IContentProtectionPolicy
    {
        public async ValueTask<BroadcastProtection?> ProtectionAsync(LiveStream stream, ProtectionState? continuing, CancellationToken cancellationToken) =>
            BroadcastProtection.From(EncryptionScheme.Cbcs, await keys.KeyForAsync(stream.Name, EncryptionScheme.Cbcs, null, cancellationToken));
    }

    private static void PublishAudio(LiveStream stream, int seconds)
    {
        var track = new AudioTrack(Codec.Aac, new byte[] { 0x11, 0x90 }, "mp4a.40.2", 48000, 2);
        for (long dts = 0; dts < 48000L * seconds; dts += 1024) stream.Write(MediaFrame.Rent(track, dts, 0, true, new byte[200]));
    }

    private Dictionary<string, byte[]> Stored() => Directory.GetFiles(Dir.Path, "*", SearchOption.AllDirectories)
        .ToDictionary(f => Path.GetRelativePath(Dir.Path, f), File.ReadAllBytes);

    [Theory]
    [InlineData(false, "which was not asked")]
    [InlineData(true, "pskc:ValueMAC does not match")]
    public async Task A_bad_answer_at_the_start_packages_nothing_and_keeps_the_earlier_broadcast(bool encrypted, string reason)
    {
        var providerLog = new CpixKeyProviderTests.CapturingLogger<CpixKeyProvider>();
        var packagerLog = new CpixKeyProviderTests.CapturingLogger<LivePackager>();
        var options = new CpixOptions { Url = KeyServer.Url.ToString() };
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        // Encrypted: the first broadcast's key comes encrypted to the node, the second's with a wrong MAC.
        if (encrypted) (options.RecipientCertificatePath, options.RecipientPrivateKeyPath) = CpixEncryptedAnswer.WritePems(Dir, rsa);
        using var provider = new CpixKeyProvider(options, providerLog);
        var registry = new LiveStreamRegistry();
        await using var packager = new LivePackager(registry, new FileSystemSegmentStore(Dir.Path),
            new DefaultRecordingPolicy(Options.Create(new PackagerOptions())),
            Options.Create(new PackagerOptions { SegmentSeconds = 1, WindowSegments = 3 }), TimeProvider.System, packagerLog,
            protection: new CpixPolicy(provider));
        await packager.StartAsync(default);

        int finished = 0;
        packager.StreamFinished += _ => Interlocked.Increment(ref finished);
        Assert.True(registry.TryStartPublish("chan", out var first));
        PublishAudio(first, 5);
        registry.EndPublish(first);
        await WaitFor.ConditionAsync(() => Volatile.Read(ref finished) == 1, TimeSpan.FromSeconds(30), "the first broadcast packaged",
            () => string.Join('\n', packagerLog.Events.Select(e => e.Text)));
        var before = Stored();
        Assert.Contains(before.Keys, k => k.EndsWith(".m4s", StringComparison.Ordinal));

        if (encrypted) KeyServer.Breakage = EncryptedBreakage.WrongMac;
        else KeyServer.Behaviour = StandInBehaviour.WrongKid;
        Assert.True(registry.TryStartPublish("chan", out var second));
        PublishAudio(second, 5);
        await WaitFor.ConditionAsync(() => packagerLog.Events.Any(e => e.Id == 4003), TimeSpan.FromSeconds(30), "the packager's refusal");
        registry.EndPublish(second);
        await WaitFor.ConditionAsync(() => !packager.IsPackaging("chan"), TimeSpan.FromSeconds(30), "the refused broadcast's end");

        var failed = Assert.Single(packagerLog.Events, e => e.Id == 4003);
        Assert.Contains(nameof(CpixRefusedException), failed.Text, StringComparison.Ordinal);
        Assert.Contains(reason, failed.Text, StringComparison.Ordinal);
        Assert.Single(providerLog.Events, e => e.Id == 9500);
        Assert.Equal(1, Volatile.Read(ref finished));
        var after = Stored();
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        Assert.All(before, b => Assert.Equal(b.Value, after[b.Key]));
    }
}
