using Microsoft.Extensions.Options;

namespace Broadcast.Packager;

/// <summary>Live packaging settings, bound from the configuration section <c>Packager</c>.</summary>
public sealed class PackagerOptions
{
    public const string SectionName = "Packager";

    /// <summary>Target segment duration in whole seconds (1..10). Segments are cut on the first keyframe past each multiple.</summary>
    public int SegmentSeconds { get; set; } = 2;

    /// <summary>Segments kept in a live playlist when DVR is off.</summary>
    public int WindowSegments { get; set; } = 6;

    /// <summary>When above zero the live playlist keeps this many seconds (DVR) instead of <see cref="WindowSegments"/>.</summary>
    public int DvrSeconds { get; set; }

    /// <summary>How long a segment that left the window stays in the store (players that loaded an older playlist still fetch it).</summary>
    public int DeleteGraceSeconds { get; set; } = 30;

    /// <summary>Whether broadcasts are recorded (kept whole, with a VOD playlist) when no policy decides otherwise.</summary>
    public bool RecordByDefault { get; set; }

    /// <summary>DASH UTCTiming source (ISO 8601 over HTTP): an absolute URL or one relative to the page, e.g. <c>/time</c>.</summary>
    public string UtcTimingUrl { get; set; } = "/time";

    /// <summary>
    /// Low latency: about how long a part (LL-HLS partial segment, LL-DASH chunk) is, in seconds, 0.2..1.0. The segment
    /// target is divided into a whole number of parts of about this length (Segmenting.PartGrid); the declared Part
    /// Target is a part plus 10 % and a millisecond.
    /// </summary>
    public decimal PartSeconds { get; set; } = 0.333m;

    /// <summary>
    /// Low latency: how far behind the newest part LL-HLS players are told to play (EXT-X-SERVER-CONTROL PART-HOLD-BACK),
    /// in Part Targets, 2..6. RFC 8216bis 4.4.3.8: at least two (MUST), three recommended (SHOULD). Stock hls.js
    /// (lowLatencyMode) and stock Shaka start this far behind the edge and, without a catch-up, stay there; the watch
    /// page's hls.js aims at it. The default is two (0.736 s at 1/3 s parts; bench/lowlatency.sh STOCK=1, RESULTS.md).
    /// </summary>
    public int PartHoldBackTargets { get; set; } = Manifests.LowLatencyPlaylist.DefaultPartHoldBackTargets;

    /// <summary>Whether a broadcast is packaged with parts when no policy decides (the control plane's channel setting does).</summary>
    public bool LowLatencyByDefault { get; set; }

    /// <summary>
    /// Low-latency DASH: the latency target players are told (ServiceDescription), in milliseconds. dash.js settles at
    /// about its target. 1500 held for ten minutes with no stall directly and through the shipped edge, unloaded and with
    /// a 1080p ladder transcoding beside it (1.50-1.51 s p50; bench/lowlatency.sh, RESULTS.md 2026-11-25). Before the
    /// edge refreshed an expired MPD for the request that found it, dash.js through it stalled at 1500, hence 2000 then.
    /// </summary>
    public int LowLatencyTargetMilliseconds { get; set; } = 1500;

    /// <summary>
    /// When the manifests declare CTA-608 closed captions (HLS CLOSED-CAPTIONS, the DASH Accessibility descriptor):
    /// <see cref="CaptionDeclaration.Detect"/> once A/53 captions are seen in the source's video, <see cref="CaptionDeclaration.Always"/>
    /// from the start (a caption inserter that starts late, players that read the master playlist once),
    /// <see cref="CaptionDeclaration.Never"/>. The caption bytes themselves pass through either way.
    /// </summary>
    public CaptionDeclaration Captions { get; set; } = CaptionDeclaration.Detect;

    /// <summary><see cref="PartSeconds"/> in 90 kHz ticks.</summary>
    public long PartTicks => (long)(PartSeconds * 90_000);

    /// <summary>Live manifest max-age: at most half a segment so a CDN never hides a whole new segment; at least 1 s.</summary>
    public int LiveManifestMaxAgeSeconds => Math.Max(1, SegmentSeconds / 2);
}

/// <summary>See <see cref="PackagerOptions.Captions"/>.</summary>
public enum CaptionDeclaration
{
    Detect,
    Always,
    Never,
}

/// <summary>Start-up validation: a bad value stops the server with a message naming the key.</summary>
public sealed class PackagerOptionsValidator : IValidateOptions<PackagerOptions>
{
    public ValidateOptionsResult Validate(string? name, PackagerOptions options)
    {
        var errors = new List<string>();
        if (options.SegmentSeconds is < 1 or > 10)
            errors.Add($"Packager:SegmentSeconds must be between 1 and 10 (was {options.SegmentSeconds}).");
        if (options.WindowSegments is < 3 or > 1000)
            errors.Add($"Packager:WindowSegments must be between 3 and 1000 (was {options.WindowSegments}); " +
                "RFC 8216 section 6.2.2 wants at least three segments live.");
        if (options.DvrSeconds is < 0 or > 86_400)
            errors.Add($"Packager:DvrSeconds must be between 0 (off) and 86400 (was {options.DvrSeconds}).");
        if (options.DeleteGraceSeconds is < 0 or > 86_400)
            errors.Add($"Packager:DeleteGraceSeconds must be between 0 and 86400 (was {options.DeleteGraceSeconds}).");
        if (options.PartSeconds is < 0.2m or > 1.0m)
            errors.Add($"Packager:PartSeconds must be between 0.2 and 1.0 (was {options.PartSeconds}).");
        if (options.PartHoldBackTargets is < Manifests.LowLatencyPlaylist.MinimumPartHoldBackTargets or > 6)
            errors.Add($"Packager:PartHoldBackTargets must be between 2 and 6 (was {options.PartHoldBackTargets}); " +
                "RFC 8216bis section 4.4.3.8 wants PART-HOLD-BACK at least twice the Part Target.");
        if (options.LowLatencyTargetMilliseconds is < 500 or > 30_000)
            errors.Add($"Packager:LowLatencyTargetMilliseconds must be between 500 and 30000 (was {options.LowLatencyTargetMilliseconds}).");
        if (!Enum.IsDefined(options.Captions))
            errors.Add($"Packager:Captions must be Detect, Always or Never (was {options.Captions}).");
        if (string.IsNullOrWhiteSpace(options.UtcTimingUrl))
            errors.Add("Packager:UtcTimingUrl must not be empty.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
