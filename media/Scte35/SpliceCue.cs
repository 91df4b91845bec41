namespace Broadcast.Media.Scte35;

/// <summary>
/// An ad break asked for on a live stream, by an admin (the breaks API) or by the encoder (an RTMP onCuePoint,
/// the SCTE-35 PID of an SRT publisher's MPEG-TS). The
/// packager turns it into markers at a segment boundary: the first segment that starts at or after
/// <see cref="SpliceTime"/> begins the break (see the packager's <c>AdBreakSchedule</c>).
/// </summary>
/// <param name="EventId">splice_event_id: names the break in every manifest (DATERANGE ID, DASH Event id).</param>
/// <param name="SpliceTime">When the break should start, in 90 kHz ticks of the stream's media time; null: as soon as possible.</param>
/// <param name="Duration">Planned length of the break in 90 kHz ticks.</param>
/// <param name="Section">The splice_info_section the encoder sent, carried into the manifests as it came; null: one is written.</param>
/// <param name="Source">Who asked, for logs ("api", "rtmp", "srt").</param>
public sealed record SpliceCue(uint EventId, long? SpliceTime, long Duration, SpliceInfoSection? Section, string Source)
{
    /// <summary>A break is at least a second and at most a day: anything else is a mistake, not an ad break.</summary>
    public static readonly TimeSpan MinDuration = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan MaxDuration = TimeSpan.FromHours(24);
}
