using System.Globalization;
using Broadcast.Media.Scte35;

namespace Broadcast.Ingest.Rtmp;

/// <summary>An ad break an encoder announced in an onCuePoint data message; times in milliseconds.</summary>
/// <param name="EventId">The splice_event_id the encoder gave, or null (one is chosen).</param>
/// <param name="PreRollMs">How long after the message's timestamp the break begins.</param>
/// <param name="DurationMs">The planned length of the break.</param>
/// <param name="Section">The splice_info_section the encoder sent, when it sent one.</param>
public readonly record struct RtmpCuePoint(uint? EventId, long PreRollMs, long DurationMs, SpliceInfoSection? Section)
{
    public const string OnCuePoint = "onCuePoint";

    /// <summary>The YouTube Live ad cue point (also what OvenMediaEngine and several OBS plug-ins send).</summary>
    public const string YouTubeType = "com.youtube.cuepoint";

    /// <summary>A pre-roll longer than this is not an announcement of the next break but a mistake.</summary>
    public const long MaxPreRollMs = 60_000;

    /// <summary>
    /// Reads an onCuePoint data message (RTMP data message, AMF0: the name then one object) in the two forms encoders use
    /// for ad breaks:
    /// <list type="bullet">
    /// <item>YouTube's: <c>{type: "com.youtube.cuepoint", cue_point_start: true, break_duration_sec, pre_roll_time_sec?,
    /// splice_event_id?}</c>;</item>
    /// <item>Adobe's cue point object (<c>{name, time, type, parameters}</c>, as hardware encoders and AWS Elemental send SCTE-35
    /// over RTMP) whose name or parameters carry the splice_info_section in base64 (or hex with 0x): a splice_insert
    /// leaving the network with a break_duration.</item>
    /// </list>
    /// Returns false with a null <paramref name="refusal"/> when the message is no cue point at all, false with the reason
    /// when it is one this service cannot turn into a break (a return, a cancel, no duration, a time_signal).
    /// </summary>
    public static bool TryRead(RtmpDataMessage message, out RtmpCuePoint cue, out string? refusal)
    {
        ArgumentNullException.ThrowIfNull(message);
        cue = default;
        refusal = null;
        if (message.Name != OnCuePoint) return false;
        if (message.Values.Count == 0 || message.Values[0] is not AmfObject body)
        {
            refusal = "onCuePoint without an object";
            return false;
        }
        if (body.GetValueOrDefault("type") is YouTubeType) return TryReadYouTube(body, out cue, out refusal);

        foreach (var candidate in Strings(body).Concat(body.GetValueOrDefault("parameters") is AmfObject p ? Strings(p) : []))
        {
            if (!TryDecode(candidate, out var section)) continue;
            return TryFromSection(section!, out cue, out refusal);
        }
        refusal = "onCuePoint carries no SCTE-35 splice_info_section (base64 or 0x hex) and is not a YouTube cue point";
        return false;
    }

    private static bool TryReadYouTube(AmfObject body, out RtmpCuePoint cue, out string? refusal)
    {
        cue = default;
        if (body.GetValueOrDefault("cue_point_start") is false)
        {
            refusal = "YouTube cue point with cue_point_start false (an early return) is not supported";
            return false;
        }
        if (body.GetValueOrDefault("break_duration_sec") is not double seconds || !TryMilliseconds(seconds, out long duration) || TooShort(duration))
        {
            refusal = "YouTube cue point without a usable break_duration_sec";
            return false;
        }
        long preRoll = 0;
        if (body.GetValueOrDefault("pre_roll_time_sec") is double pre && !(TryMilliseconds(pre, out preRoll) && preRoll <= MaxPreRollMs))
        {
            refusal = $"YouTube cue point pre_roll_time_sec {pre.ToString(CultureInfo.InvariantCulture)} is not between 0 " +
                $"and {MaxPreRollMs / 1000} s";
            return false;
        }
        uint? id = body.GetValueOrDefault("splice_event_id") is double e && e >= 0 && e <= uint.MaxValue && e == Math.Floor(e) ? (uint)e : null;
        cue = new RtmpCuePoint(id, preRoll, duration, null);
        refusal = null;
        return true;
    }

    private static bool TryFromSection(SpliceInfoSection section, out RtmpCuePoint cue, out string? refusal)
    {
        cue = default;
        if (!SpliceBreak.TryRead(section, out var insert, out long ticks, out refusal)) return false;
        // The splice time is the message's own timestamp: pts_time counts on the encoder's MPEG-TS clock, which RTMP does not carry.
        cue = new RtmpCuePoint(insert.EventId, 0, ticks / 90, section);
        return true;
    }

    private static bool TryDecode(string text, out SpliceInfoSection? section)
    {
        section = null;
        byte[] bytes;
        try
        {
            if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) bytes = Convert.FromHexString(text.AsSpan(2));
            else if (text.Length >= 20 && text.Length <= SpliceInfoSection.MaxLength * 2) bytes = Convert.FromBase64String(text);
            else return false;
        }
        catch (FormatException)
        {
            return false;
        }
        return SpliceInfoSection.TryRead(bytes, out section, out _, out _);
    }

    private static bool TooShort(long milliseconds) => milliseconds < (long)SpliceCue.MinDuration.TotalMilliseconds;

    private static IEnumerable<string> Strings(AmfObject obj) => obj.Values.OfType<string>();

    /// <summary>AMF numbers are doubles on the wire: whole milliseconds, at least one second's break-worth of sense.</summary>
    private static bool TryMilliseconds(double seconds, out long milliseconds)
    {
        milliseconds = 0;
        if (!double.IsFinite(seconds) || seconds < 0 || seconds > SpliceCue.MaxDuration.TotalSeconds) return false;
        milliseconds = (long)Math.Round(seconds * 1000, MidpointRounding.AwayFromZero);
        return true;
    }
}
