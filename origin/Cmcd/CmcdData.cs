namespace Broadcast.Origin.Cmcd;

/// <summary>CTA-5004 §3.3 'ot': the kind of object the player asked for.</summary>
public enum CmcdObjectType : byte
{
    None,
    Manifest,
    Audio,
    Video,
    Muxed,
    Init,
    Caption,
    TimedText,
    Key,
    Other,
}

/// <summary>CTA-5004 §3.3 'sf': the streaming format the player plays.</summary>
public enum CmcdStreamingFormat : byte
{
    None,
    Dash,
    Hls,
    Smooth,
    Other,
}

/// <summary>CTA-5004 §3.3 'st': whether the player plays a live or an on-demand stream.</summary>
public enum CmcdStreamType : byte
{
    None,
    Vod,
    Live,

    /// <summary>'ll', low-latency live: CMCD version 2's value (CTA-5004-B), which hls.js 1.7 sends in its version 1 payloads too.</summary>
    LowLatencyLive,
}

/// <summary>
/// What one request's Common Media Client Data (CTA-5004, version 1 keys) says, read without allocating: integers absent
/// are -1, booleans absent are false, tokens absent are None. The session and content ids are kept as keyed hashes
/// (<see cref="CmcdReader"/>), never as the client's text: they identify a playback session for the aggregate and are
/// nothing to log or store.
/// </summary>
public struct CmcdData
{
    public CmcdData()
    {
    }

    /// <summary>'br': the encoded bitrate of the object asked for, kbps.</summary>
    public int EncodedBitrateKbps = -1;

    /// <summary>'bl': the buffer length when the request was made, ms (rounded to 100 ms by the player).</summary>
    public int BufferLengthMs = -1;

    /// <summary>'bs': the buffer ran empty since the previous request (a stall).</summary>
    public bool BufferStarvation;

    /// <summary>'d': the playback duration of the object, ms.</summary>
    public int ObjectDurationMs = -1;

    /// <summary>'dl': how soon the object must arrive to avoid a stall, ms.</summary>
    public int DeadlineMs = -1;

    /// <summary>'mtp': the throughput the player measured, kbps.</summary>
    public int MeasuredThroughputKbps = -1;

    /// <summary>'ot'.</summary>
    public CmcdObjectType ObjectType;

    /// <summary>'pr': the playback rate, in thousandths (1000 is real time; 0 is paused).</summary>
    public int PlaybackRatePerMille = -1;

    /// <summary>'rtp': the throughput the player asks the server for, kbps.</summary>
    public int RequestedThroughputKbps = -1;

    /// <summary>'sf'.</summary>
    public CmcdStreamingFormat StreamingFormat;

    /// <summary>'sid' hashed under this process's key (a table keyed by it cannot be flooded into one bucket); zero when
    /// the player sent none.</summary>
    public ulong SessionIdHash;

    /// <summary>'sid' hashed alike on every node (no key), so the audience kept per broadcast counts a player once whichever
    /// origin it reached; never a table's key (see <see cref="SessionIdHash"/>). Zero when the player sent none.</summary>
    public ulong SessionIdIdentity;

    /// <summary>'cid' hashed; zero when the player sent none.</summary>
    public ulong ContentIdHash;

    /// <summary>'st'.</summary>
    public CmcdStreamType StreamType;

    /// <summary>'su': the object is needed urgently, at startup or after a seek or a stall.</summary>
    public bool Startup;

    /// <summary>'tb': the highest bitrate rung the player may choose, kbps.</summary>
    public int TopBitrateKbps = -1;

    /// <summary>'v': the CMCD version; absent means 1 (§3.3).</summary>
    public int Version = -1;

    /// <summary>Keys that were present but whose value broke the key's type or bounds: dropped, and counted here.</summary>
    public int MalformedValues;

    /// <summary>Whether any key this reader knows was read.</summary>
    public bool HasData;
}
