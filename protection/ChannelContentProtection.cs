using Broadcast.Control.Channels;
using Broadcast.Control.Protection;
using Broadcast.Media;
using Broadcast.Origin.Protection;
using Broadcast.Packager.Cmaf.Boxes;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Live;
using Broadcast.Protection.Cpix;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Broadcast.Protection;

/// <summary>A broadcast is encrypted as its channel's <c>protection</c> says ("cenc", "cbcs" or "aes-128"), with a key from the
/// registered <see cref="IContentKeyProvider"/>; "none", or a stream with no channel, stays in the clear. A broadcast
/// continued on this node after its node died keeps the scheme and the key it had, whatever the setting says now: its
/// players were given them (a setting applies from the next broadcast); a rotated one also gets back, by KID, the keys of the
/// periods its restored segments are under. With the channel's <c>keyRotationSegments</c> a
/// broadcast gets a new key every that many segments (<see cref="KeyRotation"/>).</summary>
internal sealed class ChannelContentProtectionPolicy(ChannelService channels, IContentKeyProvider keys) : IContentProtectionPolicy
{
    public async ValueTask<BroadcastProtection?> ProtectionAsync(LiveStream stream, ProtectionState? continuing, CancellationToken cancellationToken)
    {
        var channel = await channels.GetBySlugAsync(stream.Name, cancellationToken).ConfigureAwait(false);
        if (continuing?.ToScheme() is { } kept)
        {
            var continued = BroadcastProtection.From(kept,
                await keys.KeyForAsync(stream.Name, kept, continuing.ToKeyId(), cancellationToken).ConfigureAwait(false));
            continued = await BroadcastProtection.ContinuedAsync(continued, continuing,
                (kid, ct) => keys.KeyForAsync(stream.Name, kept, kid, ct), cancellationToken).ConfigureAwait(false);
            return Rotating(continued, stream.Name, channel);
        }
        if (channel is null || SchemeOf(channel.Protection) is not { } s) return null;
        var protection = BroadcastProtection.From(s, await keys.KeyForAsync(stream.Name, s, continuing: null, cancellationToken).ConfigureAwait(false));
        return Rotating(protection, stream.Name, channel);
    }

    /// <summary>The protection with the channel's key rotation: every so many segments a fresh key from the same provider, asked
    /// for as a new broadcast's is (the ClearKey provider keeps each in <c>content_keys</c>, a CPIX key server gets a new KID).</summary>
    private BroadcastProtection Rotating(BroadcastProtection protection, string slug, Channel? channel)
    {
        if (channel is not { KeyRotationSegments: > 0 and var every }) return protection;
        var scheme = protection.Scheme;
        return protection with { Rotation = new KeyRotation(every, ct => keys.KeyForAsync(slug, scheme, continuing: null, ct)) };
    }

    /// <summary>The packager's scheme for a channel's setting; null for none.</summary>
    internal static EncryptionScheme? SchemeOf(ChannelProtection protection) => protection switch
    {
        ChannelProtection.Cenc => EncryptionScheme.Cenc,
        ChannelProtection.Cbcs => EncryptionScheme.Cbcs,
        ChannelProtection.Aes128 => EncryptionScheme.Aes128,
        _ => null,
    };
}

/// <summary>
/// The built-in ClearKey key provider: a fresh KID and key per broadcast from control's <see cref="ContentKeyStore"/> (kept
/// encrypted under the server secret; a continued broadcast's own key read back from it, as every node with the database
/// can), the W3C common system's pssh naming the KID (the init data a ClearKey CDM reads,
/// W3C "cenc" Initialization Data Format §4), and the channel's license endpoint (<see cref="ClearKeyLicenseEndpoint"/>):
/// under <c>Public:HttpBaseUrl</c> when set, since players resolve a license URL against their page, not the manifest;
/// else path-absolute, which serves players on the server's own origin (the watch page). The same key is served raw, for
/// an AES-128 HLS broadcast's EXT-X-KEY, at <see cref="HlsKeyEndpoint"/>'s URL naming the KID, likewise placed.
/// </summary>
internal sealed class ClearKeyContentKeyProvider(ChannelService channels, ContentKeyStore store, Broadcast.Control.ControlSettings settings)
    : IContentKeyProvider
{
    public async ValueTask<ContentKeyGrant> KeyForAsync(string channel, EncryptionScheme scheme, KeyId? continuing, CancellationToken cancellationToken)
    {
        var found = await channels.GetBySlugAsync(channel, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"No channel '{channel}' to keep a content key for.");
        var kept = continuing is { } kid0
            ? (await store.FindAsync(found.Id, ControlContentKeys.ToBytes([kid0]), cancellationToken).ConfigureAwait(false)).FirstOrDefault()
            : null;
        var stored = kept ?? await store.CreateAsync(found.Id, cancellationToken).ConfigureAwait(false);
        var kid = KeyId.FromBytes(stored.KeyId);
        var key = new ContentKey(kid, stored.Key);
        var pssh = ProtectionSystemHeader.Create(ProtectionSystemHeader.ClearKeySystemId, [kid], []);
        string baseUrl = settings.PublicHttpBaseUrl?.TrimEnd('/') ?? "";
        string license = baseUrl + ClearKeyLicenseEndpoint.UrlFor(channel);
        return new ContentKeyGrant(key, [new ProtectionSystem(ProtectionSystemHeader.ClearKeySystemId, pssh)], license,
            baseUrl + HlsKeyEndpoint.UrlFor(channel, kid));
    }

    /// <summary>Deletes a key made only to test this provider (<see cref="ProviderKeyCheck"/>): no broadcast names it.</summary>
    internal async Task ForgetAsync(string channel, KeyId kid, CancellationToken cancellationToken)
    {
        var found = await channels.GetBySlugAsync(channel, cancellationToken).ConfigureAwait(false);
        if (found is not null) await store.DeleteAsync(found.Id, kid.ToArray(), cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>The license endpoint's keys: those control keeps for the channel of that slug (a deleted channel's slug taken
/// by a new channel does not reach the old one's keys: they are found by the channel's id).</summary>
internal sealed class ControlContentKeys(ChannelService channels, ContentKeyStore store) : IContentKeys
{
    public async ValueTask<IReadOnlyList<ContentKey>> FindAsync(string channel, IReadOnlyList<KeyId> keyIds, CancellationToken cancellationToken)
    {
        var found = await channels.GetBySlugAsync(channel, cancellationToken).ConfigureAwait(false);
        if (found is null || keyIds.Count == 0) return [];
        return ToContentKeys(await store.FindAsync(found.Id, ToBytes(keyIds), cancellationToken).ConfigureAwait(false));
    }

    /// <summary>At most <see cref="ContentKeyStore.MaxKeysPerLookup"/> KIDs as the store takes them.</summary>
    internal static byte[][] ToBytes(IReadOnlyList<KeyId> keyIds) => [.. keyIds.Take(ContentKeyStore.MaxKeysPerLookup).Select(k => k.ToArray())];

    internal static IReadOnlyList<ContentKey> ToContentKeys(IReadOnlyList<StoredContentKey> stored) =>
        [.. stored.Select(s => new ContentKey(KeyId.FromBytes(s.KeyId), s.Key))];
}

/// <summary>An origin-only node's license keys: asked of a control node (<see cref="RemoteContentKeys"/>), which keeps them.</summary>
internal sealed class RemoteNodeContentKeys(RemoteContentKeys remote) : IContentKeys
{
    public async ValueTask<IReadOnlyList<ContentKey>> FindAsync(string channel, IReadOnlyList<KeyId> keyIds, CancellationToken cancellationToken) =>
        keyIds.Count == 0 ? [] : ControlContentKeys.ToContentKeys(
            await remote.FindAsync(channel, ControlContentKeys.ToBytes(keyIds), cancellationToken).ConfigureAwait(false));
}

/// <summary>Protected content as this node serves it: each channel's protection setting, keys from the built-in ClearKey
/// provider or, when configured, a DRM vendor's CPIX key server.</summary>
public static class ProtectionServiceCollectionExtensions
{
    /// <summary>
    /// Before the packager (which adds its clear default only when no policy is registered) and on nodes that serve the
    /// license (the keys it answers with).
    /// </summary>
    /// <param name="configuration">Where <c>Protection:Cpix</c> is read: with its <c>Url</c> set, keys come from that CPIX
    /// key server (checked now, so a wrong setting stops the node's start) instead of the built-in ClearKey provider.</param>
    public static IServiceCollection AddChannelProtection(this IServiceCollection services, IConfiguration? configuration = null)
    {
        var cpix = configuration?.GetSection(CpixOptions.Section).Get<CpixOptions>();
        Uri? cpixUrl = null;
        if (cpix is { Enabled: true })
        {
            cpixUrl = cpix.Validate();
            services.AddSingleton<IContentKeyProvider>(sp => new CpixKeyProvider(cpix, sp.GetRequiredService<ILogger<CpixKeyProvider>>()));
        }
        else services.AddSingleton<IContentKeyProvider, ClearKeyContentKeyProvider>();
        // The dashboard's "Test key" asks the very provider instance the packager asks (control's no-op default replaced).
        services.AddSingleton<IProtectionKeyCheck>(sp => new ProviderKeyCheck(sp.GetRequiredService<IContentKeyProvider>(), ProviderKeyCheck.SourceOf(cpixUrl)));
        services.AddSingleton<IContentProtectionPolicy, ChannelContentProtectionPolicy>();
        return services;
    }

    /// <summary>The keys the license endpoint answers with, from control's store: on nodes with the database.</summary>
    public static IServiceCollection AddContentKeys(this IServiceCollection services) =>
        services.AddSingleton<IContentKeys, ControlContentKeys>();

    /// <summary>The keys the license endpoint answers with on an origin-only node: asked of the control node it reads private
    /// playback from (<c>Playback:ControlUrl</c>, <c>Playback:NodeToken</c>).</summary>
    public static IServiceCollection AddRemoteContentKeys(this IServiceCollection services) =>
        services.AddSingleton<IContentKeys, RemoteNodeContentKeys>();
}
