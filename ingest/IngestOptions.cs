namespace Broadcast.Ingest;

/// <summary>Protocol-independent ingest settings, bound from the "Ingest" configuration section.</summary>
public sealed class IngestOptions
{
    public const string SectionName = "Ingest";

    /// <summary>
    /// When a publisher's connection drops, the broadcast waits this long for the same stream key to publish again
    /// and then continues as the same broadcast (a discontinuity marks the join). 0 ends the broadcast at once.
    /// An explicit unpublish (FCUnpublish/deleteStream, what an encoder's "stop" sends) always ends it at once.
    /// </summary>
    public int ReconnectGraceSeconds { get; set; } = 30;

    /// <summary>
    /// Optional still image shown while waiting for a reconnect: the transcoder encodes it with silence once per source
    /// size and audio format and plays it into the waiting stream (see the transcoder's SlateFiller). Null: the live edge holds.
    /// </summary>
    public string? Slate { get; set; }
}
