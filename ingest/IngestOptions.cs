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
    /// A new RTMP or SRT publish with the key of a channel whose current publisher is still connected but has sent no
    /// frame for this long takes the channel at once: the old connection is closed and the same broadcast continues, as
    /// after a reconnect. An encoder that changed network (Wi-Fi to cellular, a router reboot) leaves its old TCP
    /// connection half-open, and without this its reconnect was refused "already publishing" until the old one timed
    /// out (Rtmp:IdleTimeoutSeconds, 30 s of frozen show). 1.5 s: a working encoder sends video at 24 fps or more and
    /// audio about every 21 ms, so 1.5 s without one frame means its path is dead (its viewers are already frozen), and
    /// it is shorter than the 2 s between OBS's reconnect attempts, so the first or second one is taken. A second
    /// encoder while the first still sends is refused as before. 0 turns takeover off.
    /// </summary>
    public int TakeoverSilenceMilliseconds { get; set; } = 1500;

    /// <summary>
    /// Optional still image shown while waiting for a reconnect: the transcoder encodes it with silence once per source
    /// size and audio format and plays it into the waiting stream (see the transcoder's SlateFiller). Null: the live edge holds.
    /// </summary>
    public string? Slate { get; set; }
}
