using Broadcast.Packager.Cmaf.Boxes;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Manifests;

namespace Broadcast.Packager.Live;

/// <summary>
/// A later key period of a rotated broadcast as a <see cref="RecordingJournalChunk"/> keeps it: from segment
/// <paramref name="FirstSegment"/> on, what the manifests name of its key (the KID as a UUID, each DRM system's pssh, the
/// ClearKey license URL, the AES-128 key URL and the DRM vendors' HLS key tags; never the key). The recording of a broadcast
/// continued on another node names each segment the dead node packaged under its own key from these, with no call to the
/// key provider (which may be down, or slow, at the end of a day-long show of thousands of keys).
/// </summary>
public sealed record JournaledKeyPeriod(long FirstSegment, string Scheme, string KeyId, IReadOnlyList<ManifestDrmSystem> Systems,
    string? ClearKeyLicenseUrl = null, string? KeyUrl = null, IReadOnlyList<HlsKeyTags>? HlsKeys = null)
{
    /// <summary>The most DRM systems, and vendor key tags, one period names (a key server answers a handful).</summary>
    public const int MaxSystems = 16;

    /// <summary>The longest pssh (in base64) and URL read back: far above any DRM system's, far below the chunk's own bound.</summary>
    public const int MaxPsshBase64 = 16 * 1024, MaxUrlLength = 2048;

    /// <summary>What the journal keeps of <paramref name="period"/>.</summary>
    public static JournaledKeyPeriod Of(ManifestKeyPeriod period)
    {
        ArgumentNullException.ThrowIfNull(period);
        var key = period.Key;
        return new JournaledKeyPeriod(period.FirstSegment, key.Scheme, key.DefaultKidUuid, key.Systems, key.ClearKeyLicenseUrl, key.KeyUrl,
            key.HlsKeys.Count > 0 ? key.HlsKeys : null);
    }

    /// <summary>The period as the manifests name it.</summary>
    public ManifestKeyPeriod ToManifest() =>
        new(FirstSegment, new ManifestProtection(Scheme, KeyId, Systems, ClearKeyLicenseUrl, KeyUrl) { HlsKeys = HlsKeys ?? [] });

    /// <summary>
    /// Why a chunk's periods are not ones this code wrote (each is written into a recording's manifests as read, so each is
    /// checked as a key provider's answer is), or null: in order, at most one per segment of a chunk ending at
    /// <paramref name="last"/>, none after it.
    /// </summary>
    public static string? Invalid(IReadOnlyList<JournaledKeyPeriod> periods, long last)
    {
        ArgumentNullException.ThrowIfNull(periods);
        if (periods.Count > RecordingJournalChunk.SegmentsPerChunk)
            return $"{periods.Count} key periods, more than a chunk's {RecordingJournalChunk.SegmentsPerChunk} segments";
        for (int i = 0; i < periods.Count; i++)
        {
            var p = periods[i];
            if (p is null) return "a key period is empty";
            if (p.FirstSegment < 1 || p.FirstSegment > last || (i > 0 && p.FirstSegment <= periods[i - 1].FirstSegment))
                return "key periods out of order";
            if (Invalid(p) is { } why) return $"the key period from segment {p.FirstSegment}: {why}";
        }
        return null;
    }

    private static string? Invalid(JournaledKeyPeriod p)
    {
        if (EncryptionSchemes.Parse(p.Scheme) is null) return $"scheme '{p.Scheme}'";
        if (!IsUuid(p.KeyId)) return "its key id is not a UUID";
        if (p.Systems is null || p.Systems.Count > MaxSystems) return $"no DRM systems, or more than {MaxSystems}";
        foreach (var system in p.Systems)
        {
            if (system is null || !IsUuid(system.SystemIdUuid)) return "a DRM system id is not a UUID";
            if (system.PsshBase64 is not { Length: > 0 and <= MaxPsshBase64 } base64) return "a pssh is empty or too long";
            var box = new byte[base64.Length * 3 / 4 + 3];
            if (!Convert.TryFromBase64String(base64, box, out int length)) return "a pssh is not base64";
            try
            {
                ProtectionSystemHeader.Validate(box.AsSpan(0, length));
            }
            catch (InvalidDataException ex)
            {
                return ex.Message;
            }
        }
        if (!IsManifestUrl(p.ClearKeyLicenseUrl) || !IsManifestUrl(p.KeyUrl)) return "a URL is empty, too long, or not printable ASCII without quotes";
        if (p.HlsKeys is { } tags)
        {
            if (tags.Count > MaxSystems) return $"more than {MaxSystems} vendor key tags";
            try
            {
                foreach (var t in tags)
                {
                    if (t is null) return "a vendor key tag is empty";
                    HlsContentProtection.CheckVendorTag(t.Media, "#EXT-X-KEY:", p.Scheme);
                    HlsContentProtection.CheckVendorTag(t.Master, "#EXT-X-SESSION-KEY:", p.Scheme);
                }
            }
            catch (Exception ex) when (ex is InvalidDataException or ArgumentNullException)
            {
                return ex.Message;
            }
        }
        return null;
    }

    private static bool IsUuid(string? text) => text is { Length: 36 } && Guid.TryParseExact(text, "D", out _);

    // A URL goes between a playlist attribute's quotes (the MPD escapes its own): printable ASCII, no quote (null: none named).
    private static bool IsManifestUrl(string? url) =>
        url is null || (url.Length is > 0 and <= MaxUrlLength && url.All(c => c is >= '!' and <= '~' and not '"'));
}
