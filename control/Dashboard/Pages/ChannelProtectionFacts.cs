using System.Globalization;
using Broadcast.Control.Channels;
using Broadcast.Control.Protection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>The channel page's "Protection" facts (scheme, where keys come from, key rotation) and its "Test key" outcome.</summary>
public static class ChannelProtectionFacts
{
    /// <summary>The scheme in words, with the section of the standard that defines it.</summary>
    public static string SchemeWords(ChannelProtection protection) => protection switch
    {
        ChannelProtection.Cenc => "cenc: Common Encryption, AES-CTR of each sample (ISO/IEC 23001-7 §10.1), HLS and DASH",
        ChannelProtection.Cbcs => "cbcs: Common Encryption, AES-CBC with a 1:9 pattern (ISO/IEC 23001-7 §10.4), HLS and DASH",
        ChannelProtection.Aes128 => "aes-128: each HLS segment encrypted whole, AES-128-CBC (RFC 8216bis §4.4.4.4), no DASH",
        _ => "none: broadcasts are packaged in the clear",
    };

    /// <summary>
    /// The channel's key rotation in words (<see cref="Channel.KeyRotationSegments"/>): "one key per broadcast", or "a new key
    /// every N segments, announced ahead of use"; a rotation kept while the scheme is none says it waits for protection.
    /// </summary>
    public static string Rotation(ChannelProtection protection, int keyRotationSegments)
    {
        if (keyRotationSegments <= 0) return "one key per broadcast";
        string every = keyRotationSegments == 1
            ? "a new key every segment, announced ahead of use"
            : string.Create(CultureInfo.InvariantCulture, $"a new key every {keyRotationSegments} segments, announced ahead of use");
        return protection == ChannelProtection.None ? every + " (once the channel is protected)" : every;
    }

    internal static IProtectionKeyCheck Check(HttpContext context) => context.RequestServices.GetRequiredService<IProtectionKeyCheck>();

    /// <summary>The outcome as the page shows it: the KID and what came with it, or the provider's refusal. Never the key.</summary>
    public static string Outcome(ProtectionKeyCheckResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (!result.Succeeded) return "Key test refused: " + result.Refusal;
        string systems = result.Systems.Count == 0 ? "no DRM system" : string.Join(", ", result.Systems);
        string formats = result.HlsKeyFormats.Count == 0 ? "none from the provider" : string.Join(", ", result.HlsKeyFormats);
        string urls = (result.LicenseUrl is null ? "" : $"; license URL {result.LicenseUrl}") + (result.KeyUrl is null ? "" : $"; key URL {result.KeyUrl}");
        return string.Create(CultureInfo.InvariantCulture,
            $"Key test passed: KID {result.KeyId}; DRM systems: {systems} ({result.PsshCount} pssh); HLS key formats: {formats}{urls}. The test key is not used by any broadcast.");
    }
}
