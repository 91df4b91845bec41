using System.Text;

namespace Broadcast.Packager.Manifests;

/// <summary>A DRM system named in the manifests: its system ID as a UUID and its pssh box in base64.</summary>
public sealed record ManifestDrmSystem(string SystemIdUuid, string PsshBase64);

/// <summary>
/// What the manifests say of an encrypted broadcast: its Common Encryption scheme ("cenc" or "cbcs"), its default KID as
/// a UUID, the DRM systems with their pssh, and the W3C ClearKey license URL when there is one. Never a key: keys go from a
/// license server to a player, not in manifests.
/// </summary>
public sealed record ManifestProtection(string Scheme, string DefaultKidUuid, IReadOnlyList<ManifestDrmSystem> Systems,
    string? ClearKeyLicenseUrl = null, string? KeyUrl = null)
{
    /// <summary>HLS whole-segment encryption (METHOD=AES-128), which DASH cannot carry: such a broadcast has no MPD.</summary>
    public bool WholeSegment => Scheme == HlsContentProtection.WholeSegmentScheme;

    /// <summary>The DRM vendors' own HLS key tags (checked by <see cref="HlsContentProtection.CheckVendorTag"/>), none by default.</summary>
    public IReadOnlyList<HlsKeyTags> HlsKeys { get; init; } = [];

    /// <summary>Whether the broadcast rotates its key: the MPD then names no KID nor pssh (each key's pssh comes in band).</summary>
    public bool Rotated { get; init; }

    /// <summary>A rotated broadcast's later keys, each in force from its first segment on, in order; empty before the
    /// first rotation (and always for one key). This record's own KID, key URL and vendor tags are the first key's.</summary>
    public IReadOnlyList<ManifestKeyPeriod> Rotations { get; init; } = [];

    /// <summary>Which key period segment <paramref name="number"/> is in: 0 for the first key, i for <c>Rotations[i - 1]</c>.</summary>
    public int PeriodOf(long number)
    {
        int lo = 0, hi = Rotations.Count; // the answer is the count of rotations starting at or before the number
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (Rotations[mid].FirstSegment <= number) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>The key tags' protection of period <paramref name="index"/> (see <see cref="PeriodOf"/>).</summary>
    public ManifestProtection Period(int index) => index == 0 ? this : Rotations[index - 1].Key;
}

/// <summary>A later key of a rotated broadcast, in force from segment <paramref name="FirstSegment"/> on.</summary>
public sealed record ManifestKeyPeriod(long FirstSegment, ManifestProtection Key);

/// <summary>One DRM system's HLS key tags from its key server: the EXT-X-KEY line for media playlists and the
/// EXT-X-SESSION-KEY line for the master (RFC 8216bis §4.4.4.4, §4.4.6.5), each without its line end.</summary>
public sealed record HlsKeyTags(UInt128 SystemId, string Media, string Master);

/// <summary>
/// DASH ContentProtection descriptors (ISO/IEC 23009-1 §5.8.4.1, §5.8.5.2; ISO/IEC 23001-7 §11) for each AdaptationSet of
/// an encrypted broadcast: the mp4protection descriptor with the scheme and cenc:default_KID, the W3C ClearKey descriptor
/// (DASH-IF's urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e), and one descriptor with its cenc:pssh per other DRM system
/// (the W3C common system's pssh, 1077efec-…, is what ClearKey players read from the init segment). The ClearKey descriptor
/// names the license URL as the DASH-IF content protection guidelines' <c>dashif:Laurl</c>: Shaka reads it (and <c>clearkey:Laurl</c>) and
/// dash.js reads one Laurl element in the dashif, clearkey or ck namespace (two of them read as none), so there is one.
/// </summary>
public static class DashContentProtection
{
    public const string CencNamespace = "urn:mpeg:cenc:2013";
    public const string ClearKeyScheme = "urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e";
    public const string DashIfNamespace = "https://dashif.org/CPS";
    private const string CommonSystemId = "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b";

    /// <summary>The MPD root's namespace declarations for the cenc: (and with a license URL dashif:) prefixes, or nothing
    /// when not encrypted.</summary>
    public static string Namespace(ManifestProtection? protection) => protection is null ? ""
        : protection.ClearKeyLicenseUrl is null ? $" xmlns:cenc=\"{CencNamespace}\""
        : $" xmlns:cenc=\"{CencNamespace}\" xmlns:dashif=\"{DashIfNamespace}\"";

    public static void Append(StringBuilder sb, ManifestProtection? protection)
    {
        ArgumentNullException.ThrowIfNull(sb);
        if (protection is null) return;
        if (protection.Rotated)
        {
            AppendRotated(sb, protection);
            return;
        }
        sb.Append("      <ContentProtection schemeIdUri=\"urn:mpeg:dash:mp4protection:2011\" value=\"").Append(protection.Scheme)
          .Append("\" cenc:default_KID=\"").Append(protection.DefaultKidUuid).Append("\"/>\n");
        if (protection.ClearKeyLicenseUrl is { } url)
            sb.Append("      <ContentProtection schemeIdUri=\"").Append(ClearKeyScheme).Append("\" value=\"ClearKey1.0\"><dashif:Laurl>")
              .Append(System.Security.SecurityElement.Escape(url)).Append("</dashif:Laurl></ContentProtection>\n");
        else
            sb.Append("      <ContentProtection schemeIdUri=\"").Append(ClearKeyScheme).Append("\" value=\"ClearKey1.0\"/>\n");
        foreach (var system in protection.Systems)
        {
            if (string.Equals(system.SystemIdUuid, CommonSystemId, StringComparison.OrdinalIgnoreCase)) continue;
            sb.Append("      <ContentProtection schemeIdUri=\"urn:uuid:").Append(system.SystemIdUuid).Append("\"><cenc:pssh>")
              .Append(system.PsshBase64).Append("</cenc:pssh></ContentProtection>\n");
        }
    }

    /// <summary>
    /// A rotated broadcast's descriptors: the scheme and each system, without cenc:default_KID or cenc:pssh. Its KIDs change
    /// every few segments, so no one KID describes the AdaptationSet; each key's pssh is in the moof of its fragments (and
    /// of those before, ahead of use; ISO/IEC 23001-7 §8.1) and in the init segment for the first, where the player's key
    /// system meets them. A player that finds init data in the MPD stops listening for the media's own (Shaka creates its
    /// ClearKey sessions from cenc:default_KID and then ignores 'encrypted' events), so the MPD gives none.
    /// </summary>
    private static void AppendRotated(StringBuilder sb, ManifestProtection protection)
    {
        sb.Append("      <ContentProtection schemeIdUri=\"urn:mpeg:dash:mp4protection:2011\" value=\"").Append(protection.Scheme).Append("\"/>\n");
        sb.Append("      <ContentProtection schemeIdUri=\"").Append(ClearKeyScheme).Append("\" value=\"ClearKey1.0\"");
        if (protection.ClearKeyLicenseUrl is { } url)
            sb.Append("><dashif:Laurl>").Append(System.Security.SecurityElement.Escape(url)).Append("</dashif:Laurl></ContentProtection>\n");
        else sb.Append("/>\n");
        foreach (var system in protection.Systems)
        {
            if (string.Equals(system.SystemIdUuid, CommonSystemId, StringComparison.OrdinalIgnoreCase)) continue;
            sb.Append("      <ContentProtection schemeIdUri=\"urn:uuid:").Append(system.SystemIdUuid).Append("\"/>\n");
        }
    }
}
