namespace Broadcast.Media.Scte35;

/// <summary>
/// splice_insert() (SCTE 35 §9.7.3): a splice out of the network (an ad break begins, <see cref="OutOfNetwork"/>) or
/// back in. Times are 33-bit 90 kHz PTS values. Only a program splice (every component at once) is modelled: a
/// component splice (program_splice_flag 0) is refused when read, since no packager output could honour it.
/// </summary>
public sealed record SpliceInsert
{
    public uint EventId { get; init; }

    /// <summary>splice_event_cancel_indicator: an earlier event with this id is withdrawn; no other field is sent.</summary>
    public bool Cancel { get; init; }

    /// <summary>1: leaving the network feed (the break starts); 0: returning to it.</summary>
    public bool OutOfNetwork { get; init; }

    /// <summary>splice_immediate_flag: splice at the next opportunity; then no splice_time is sent.</summary>
    public bool Immediate { get; init; }

    /// <summary>splice_time() pts_time when time_specified_flag is 1; null when the flag is 0 (or <see cref="Immediate"/>).</summary>
    public long? PtsTime { get; init; }

    /// <summary>break_duration() (§9.8.2) duration in 90 kHz ticks; null when duration_flag is 0.</summary>
    public long? BreakDuration { get; init; }

    /// <summary>break_duration() auto_return: the splicer returns to the network by itself when the duration ends.</summary>
    public bool AutoReturn { get; init; }

    public ushort UniqueProgramId { get; init; }

    public byte AvailNum { get; init; }

    public byte AvailsExpected { get; init; }
}
