using System.Text;

namespace Broadcast.Packager.Manifests;

/// <summary>A DRM system named in the manifests: its system ID as a UUID and its pssh box in base64.</summary>
public sealed record ManifestDrmSystem(string SystemIdUuid, string PsshBase64);

/// <summary>
/// What the manifests say of an encrypted broadcast: its Common Encryption scheme ("cenc" or "cbcs"), its default KID as
/// a UUID, and the DRM systems with their pssh. Never a key: keys go from a license server to a player, not in manifests.
/// </summary>
public sealed record ManifestProtection(string Scheme, string DefaultKidUuid, IReadOnlyList<ManifestDrmSystem> Systems);

/// <summary>
/// DASH ContentProtection descriptors (ISO/IEC 23009-1 §5.8.4.1, §5.8.5.2; ISO/IEC 23001-7 §11) for each AdaptationSet of
/// an encrypted broadcast: the mp4protection descriptor with the scheme and cenc:default_KID, the W3C ClearKey descriptor
/// (DASH-IF's urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e), and one descriptor with its cenc:pssh per other DRM system
/// (the W3C common system's pssh, 1077efec-…, is what ClearKey players read from the init segment).
/// </summary>
public static class DashContentProtection
{
    public const string CencNamespace = "urn:mpeg:cenc:2013";
    public const string ClearKeyScheme = "urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e";
    private const string CommonSystemId = "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b";

    /// <summary>The MPD root's namespace declaration for the cenc: prefix, or nothing when not encrypted.</summary>
    public static string Namespace(ManifestProtection? protection) => protection is null ? "" : $" xmlns:cenc=\"{CencNamespace}\"";

    public static void Append(StringBuilder sb, ManifestProtection? protection)
    {
        ArgumentNullException.ThrowIfNull(sb);
        if (protection is null) return;
        sb.Append("      <ContentProtection schemeIdUri=\"urn:mpeg:dash:mp4protection:2011\" value=\"").Append(protection.Scheme)
          .Append("\" cenc:default_KID=\"").Append(protection.DefaultKidUuid).Append("\"/>\n");
        sb.Append("      <ContentProtection schemeIdUri=\"").Append(ClearKeyScheme).Append("\" value=\"ClearKey1.0\"/>\n");
        foreach (var system in protection.Systems)
        {
            if (string.Equals(system.SystemIdUuid, CommonSystemId, StringComparison.OrdinalIgnoreCase)) continue;
            sb.Append("      <ContentProtection schemeIdUri=\"urn:uuid:").Append(system.SystemIdUuid).Append("\"><cenc:pssh>")
              .Append(system.PsshBase64).Append("</cenc:pssh></ContentProtection>\n");
        }
    }
}
