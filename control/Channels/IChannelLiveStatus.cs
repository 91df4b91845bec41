namespace Broadcast.Control.Channels;

/// <summary>Whether a channel is on air right now, as the pipeline sees it, with the health an admin watches.</summary>
/// <param name="Online">A publisher is connected and media is flowing.</param>
/// <param name="Since">When the current publish started.</param>
/// <param name="Viewers">Current viewer count when the origin knows it.</param>
public sealed record ChannelLiveState(bool Online, DateTimeOffset? Since = null, long? Viewers = null)
{
    public static ChannelLiveState Offline { get; } = new(false);

    /// <summary>When off air after a publish: when that publish ended. The counters below then describe it.</summary>
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>
    /// The encoder dropped and the broadcast waits for it (<c>Ingest:ReconnectGraceSeconds</c>): still on air (its
    /// manifests stay live), ending at <see cref="ReconnectDeadline"/> unless the same stream key publishes again.
    /// </summary>
    public bool Reconnecting { get; init; }

    /// <summary>While <see cref="Reconnecting"/>: when the broadcast ends unless the encoder is back.</summary>
    public DateTimeOffset? ReconnectDeadline { get; init; }

    public LiveVideoStatus? Video { get; init; }

    public LiveAudioStatus? Audio { get; init; }

    /// <summary>Frames received from the encoder since the publish started.</summary>
    public long VideoFrames { get; init; }

    public long AudioFrames { get; init; }

    /// <summary>Bytes of media payload received.</summary>
    public long Bytes { get; init; }

    /// <summary>Ingest bitrate in bits per second over the last seconds.</summary>
    public long Bitrate { get; init; }

    /// <summary>Video frames per second received over the last seconds.</summary>
    public double Fps { get; init; }

    /// <summary>Media time between the last two keyframes.</summary>
    public long KeyframeIntervalMs { get; init; }

    /// <summary>Frames readers (packager, transcoder) lost because they fell behind.</summary>
    public long FramesDroppedByReaders { get; init; }

    /// <summary>
    /// The encoder's own ladder, when it sends one (Enhanced RTMP v2 multitrack): its extra video tracks, each packaged as
    /// a rung (<c>track1</c>, <c>track2</c>…) with no transcoding; <see cref="Video"/> is its default track (the source).
    /// </summary>
    public IReadOnlyList<EncoderRungStatus> EncoderLadder { get; init; } = Array.Empty<EncoderRungStatus>();

    /// <summary>Renditions being packaged, e.g. "source", "audio".</summary>
    public IReadOnlyList<string> Renditions { get; init; } = Array.Empty<string>();

    public long SegmentsWritten { get; init; }

    /// <summary>
    /// The broadcast's rewind window in seconds as its packaging read it when it started (a change to the channel applies
    /// from the next broadcast); 0: the live window only. Null when it is not packaged on this node.
    /// </summary>
    public int? RewindSeconds { get; init; }

    /// <summary>Whether the broadcast is recorded (retention then keeps every segment); null when not packaged here.</summary>
    public bool? Recording { get; init; }

    /// <summary>Bytes of the segments retention keeps for the broadcast now: its window, or all of them when recorded.</summary>
    public long KeptBytes { get; init; }

    /// <summary>The encoder back-end transcoding the ladder (nvenc, qsv, vaapi, x264), or null without transcoding.</summary>
    public string? EncoderBackend { get; init; }

    /// <summary>Transcoder speed as ffmpeg reports it (1.0 = real time), when transcoding.</summary>
    public double? TranscodeSpeed { get; init; }

    /// <summary>Plain-words advice for the operator, e.g. a keyframe interval longer than the segment target.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();

    /// <summary>
    /// How playback goes for the viewers whose players report Common Media Client Data (CTA-5004) to this node, over the
    /// viewer window; null when none does.
    /// </summary>
    public PlaybackQuality? Quality { get; init; }
}

/// <summary>
/// The players' own reports (CMCD) of one channel over the last viewer window, on the node that answers. Figures a player
/// did not send are -1.
/// </summary>
/// <param name="Sessions">Playback sessions that reported.</param>
/// <param name="StalledSessions">Sessions whose buffer ran empty in the window.</param>
/// <param name="Stalls">Times a buffer ran empty in the window.</param>
/// <param name="MedianStartupMs">From a session's first request to its first media object, median.</param>
/// <param name="MedianBufferMs">The sessions' latest buffer lengths, median.</param>
/// <param name="MeanBitrateKbps">The bitrate of the rungs the sessions play now, mean.</param>
/// <param name="MedianThroughputKbps">The throughput the players measured, median.</param>
/// <param name="RungSwitches">Rung changes in the window, all sessions together.</param>
public sealed record PlaybackQuality(int Sessions, int StalledSessions, int Stalls, int MedianStartupMs, int MedianBufferMs,
    int MeanBitrateKbps, int MedianThroughputKbps, int RungSwitches);

/// <summary>The live video track as the encoder sends it.</summary>
public sealed record LiveVideoStatus(string Codec, string CodecString, int Width, int Height, double? FrameRate, string? Profile, string? Level);

/// <summary>One extra video track of the encoder's ladder: its track id, what it carries and its bitrate over the last seconds.</summary>
public sealed record EncoderRungStatus(int TrackId, LiveVideoStatus? Video, long Bitrate, double Fps);

/// <summary>The live audio track as the encoder sends it.</summary>
public sealed record LiveAudioStatus(string Codec, string CodecString, int SampleRate, int Channels);

/// <summary>
/// Live status of channels. Owned by control (its consumer); the server implements it over the
/// pipeline's live-stream registry. Without one, every channel reads as offline.
/// </summary>
public interface IChannelLiveStatus
{
    ValueTask<ChannelLiveState> GetAsync(Channel channel, CancellationToken cancellationToken);
}

/// <summary>The stand-in when no pipeline is wired (control role alone, tests).</summary>
public sealed class OfflineChannelLiveStatus : IChannelLiveStatus
{
    public ValueTask<ChannelLiveState> GetAsync(Channel channel, CancellationToken cancellationToken)
        => ValueTask.FromResult(ChannelLiveState.Offline);
}
