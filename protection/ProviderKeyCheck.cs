using System.Text.RegularExpressions;
using Broadcast.Control.Channels;
using Broadcast.Control.Protection;
using Broadcast.Packager.Cmaf.Boxes;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Live;
using Broadcast.Protection.Cpix;

namespace Broadcast.Protection;

/// <summary>
/// The dashboard's "Test key" over the node's own <see cref="IContentKeyProvider"/> (the instance the packager asks): the
/// channel's scheme asked for as a new broadcast's start asks (no continued KID, so a live broadcast's key is left as it
/// is), and the grant put through the packager's own checks (<see cref="BroadcastProtection.From"/>), so a grant the
/// packager would refuse is refused here with the same sentence. The ClearKey provider stores each key it makes: the test's
/// is deleted again, so no key is kept that no broadcast names. The result carries the KID, never the key.
/// </summary>
internal sealed partial class ProviderKeyCheck(IContentKeyProvider keys, string keySource) : IProtectionKeyCheck
{
    public string KeySource => keySource;

    public async Task<ProtectionKeyCheckResult> CheckAsync(string channelSlug, ChannelProtection protection, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(channelSlug);
        cancellationToken.ThrowIfCancellationRequested();
        if (ChannelContentProtectionPolicy.SchemeOf(protection) is not { } scheme)
            return ProtectionKeyCheckResult.Refused("the channel's protection is none: its broadcasts are packaged in the clear and ask for no key");
        ContentKeyGrant grant;
        try
        {
            // Not the page's token: a ClearKey key stored just before a cut-off would be left with no one to delete it. The
            // ClearKey provider is a database write; the CPIX provider bounds its request with its own timeout.
            grant = await keys.KeyForAsync(channelSlug, scheme, continuing: null, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Whatever the provider throws is what the packager's start fails with (LivePackager logs its message).
            return ProtectionKeyCheckResult.Refused(e.Message);
        }

        try
        {
            var checkedGrant = BroadcastProtection.From(scheme, grant);
            return new ProtectionKeyCheckResult(true, null, checkedGrant.Key.Id.ToUuidString())
            {
                // A system with no pssh (FairPlay) is signalled by its HLS key tags alone: named too.
                Systems = [.. grant.Systems.Select(s => s.SystemId).Concat(grant.HlsKeys.Select(t => t.SystemId)).Distinct().Select(SystemName)],
                PsshCount = grant.Systems.Count(s => !s.Pssh.IsEmpty),
                HlsKeyFormats = [.. grant.HlsKeys.Select(t => KeyFormat().Match(t.Media) is { Success: true } m ? m.Groups[1].Value : "identity").Distinct()],
                LicenseUrl = grant.ClearKeyLicenseUrl,
                KeyUrl = grant.KeyUrl,
            };
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException)
        {
            return ProtectionKeyCheckResult.Refused(e.Message);
        }
        finally
        {
            // Not the caller's token: a key stored for the test is removed even when the page's request was cut off.
            if (keys is ClearKeyContentKeyProvider clearKey)
                await clearKey.ForgetAsync(channelSlug, grant.Key.Id, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>The DRM system's usual name and its system ID (ISO/IEC 23001-7 §8.1.2).</summary>
    internal static string SystemName(UInt128 systemId)
    {
        string? name = systemId == CpixOptions.Widevine ? "Widevine"
            : systemId == CpixOptions.PlayReady ? "PlayReady"
            : systemId == CpixOptions.FairPlay ? "FairPlay"
            : systemId == ProtectionSystemHeader.ClearKeySystemId ? "W3C common (ClearKey)"
            : null;
        string id = KeyId.UuidText(systemId);
        return name is null ? id : $"{name} ({id})";
    }

    /// <summary>The key source in words: never the key server's path, query or header (its token may be in any of them).</summary>
    internal static string SourceOf(Uri? cpixUrl) => cpixUrl is null
        ? "built-in ClearKey (a key per broadcast, kept encrypted in this server's database)"
        : $"CPIX key server at {cpixUrl.Authority}";

    // RFC 8216bis §4.4.4.4: KEYFORMAT names the key's format; absent, it is "identity".
    [GeneratedRegex("KEYFORMAT=\"([^\"]*)\"", RegexOptions.CultureInvariant)]
    private static partial Regex KeyFormat();
}
