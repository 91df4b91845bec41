namespace Broadcast.Media.Scte35;

/// <summary>
/// Which splice_info_sections are ad breaks this service packages, whatever carried them (an RTMP onCuePoint, the
/// SCTE-35 PID of an MPEG-TS): a splice_insert (SCTE 35 §9.7.3) leaving the network (out_of_network_indicator 1) with a
/// break_duration between <see cref="SpliceCue.MinDuration"/> and <see cref="SpliceCue.MaxDuration"/>. Breaks end by
/// their duration, so returns and cancels are not acted on; nor are time_signal (its meaning lives in segmentation
/// descriptors) and splice_null (a heartbeat).
/// </summary>
public static class SpliceBreak
{
    private static readonly long MinTicks = (long)SpliceCue.MinDuration.TotalSeconds * Timescales.Video;

    private static readonly long MaxTicks = (long)SpliceCue.MaxDuration.TotalSeconds * Timescales.Video;

    /// <summary>
    /// The splice_insert of <paramref name="section"/> when it starts a break, or false with the reason it does not.
    /// </summary>
    public static bool TryRead(SpliceInfoSection section, out SpliceInsert insert, out long durationTicks, out string? refusal)
    {
        ArgumentNullException.ThrowIfNull(section);
        insert = null!;
        durationTicks = 0;
        if (section.Insert is not { } found)
        {
            refusal = $"SCTE-35 {section.CommandType} is not a splice_insert; only splice_insert breaks are carried";
            return false;
        }
        if (found.Cancel || !found.OutOfNetwork)
        {
            refusal = $"SCTE-35 splice_insert {found.EventId} is a {(found.Cancel ? "cancel" : "return to the network")}; " +
                "breaks end by their duration";
            return false;
        }
        if (found.BreakDuration is not { } ticks || ticks < MinTicks || ticks > MaxTicks)
        {
            refusal = $"SCTE-35 splice_insert {found.EventId} has no break_duration of a second or more (and a day or less)";
            return false;
        }
        insert = found;
        durationTicks = ticks;
        refusal = null;
        return true;
    }
}
