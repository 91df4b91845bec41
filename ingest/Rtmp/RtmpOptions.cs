namespace Broadcast.Ingest.Rtmp;

/// <summary>RTMP ingest settings, bound from the "Rtmp" configuration section.</summary>
public sealed class RtmpOptions
{
    public const string SectionName = "Rtmp";

    /// <summary>TCP port; 0 picks a free one (tests read <see cref="RtmpServer.LocalEndPoint"/>).</summary>
    public int Port { get; set; } = 1935;

    public string BindAddress { get; set; } = "0.0.0.0";

    public int MaxConnections { get; set; } = 1000;

    /// <summary>Largest RTMP message accepted; a larger length in a chunk header closes the connection.</summary>
    public int MaxMessageSize { get; set; } = ChunkStreamReaderOptions.DefaultMaxMessageSize;

    /// <summary>Distinct chunk streams a client may open.</summary>
    public int MaxChunkStreams { get; set; } = 64;

    // Memory (RtmpMemoryBudget): what a connection may hold — reassembly buffers, received bytes not yet parsed, replies
    // not yet sent. A connection that would pass its budget, or the total, is closed with event 1045.

    /// <summary>
    /// What a connection may hold until its publish is accepted (an unauthenticated peer): handshake, connect,
    /// createStream and publish are a few hundred bytes each. A longer message is refused at its header.
    /// </summary>
    public int MemoryBudgetBeforePublish { get; set; } = 256 * 1024;

    /// <summary>What a publishing connection may hold: its largest message (a keyframe; ~2 MB at 1080p) at once, and more.</summary>
    public int MemoryBudgetAfterPublish { get; set; } = 16 * 1024 * 1024;

    /// <summary>What all RTMP connections together may hold (RTMP and RTMPS listeners share it).</summary>
    public long MemoryBudgetTotal { get; set; } = 512L * 1024 * 1024;

    /// <summary>Chunk streams that may hold a partial message at once before the publish is accepted.</summary>
    public int MaxPartialMessagesBeforePublish { get; set; } = 4;

    public int HandshakeTimeoutSeconds { get; set; } = 10;

    /// <summary>A connection that sends nothing for this long is closed.</summary>
    public int IdleTimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// Once media flows on a plain RTMP socket, its bytes may wait this many milliseconds before they are read: a receive
    /// loop that served only publishers in media waits out the rest of the window before it looks again
    /// (<see cref="Receive.ReceiveLoops"/>). A longer window costs less CPU and adds up to that much delay on the way in.
    /// 0 turns it off (the loop reads as bytes arrive); at most <see cref="Receive.ReceiveLoops.MaxCoalescingMilliseconds"/>.
    /// </summary>
    public int ReceiveCoalescingMilliseconds { get; set; } = Receive.ReceiveLoops.DefaultCoalescingMilliseconds;

    /// <summary>
    /// Threads that read plain RTMP publishers' sockets (Linux epoll loops, <see cref="Receive.ReceiveLoops"/>); 0, the
    /// default, is one per core. At most <see cref="Receive.ReceiveLoops.MaxThreads"/>. RTMPS reads on a thread per connection.
    /// </summary>
    public int ReceiveThreads { get; set; }

    /// <summary>Our outgoing chunk size, announced with Set Chunk Size after connect.</summary>
    public int ChunkSize { get; set; } = 4096;

    /// <summary>Window Acknowledgement Size and Set Peer Bandwidth we announce after connect.</summary>
    public int WindowAcknowledgementSize { get; set; } = 2_500_000;

    // Hostile clients (RtmpAdmission): 0 turns a limit off.

    /// <summary>Connections open at once from one IP address (encoders behind one NAT share an address).</summary>
    public int MaxConnectionsPerIp { get; set; } = 100;

    /// <summary>New connections (each a handshake) per second from one IP address, refilled continuously...</summary>
    public double HandshakesPerSecondPerIp { get; set; } = 20;

    /// <summary>...and the burst allowed above that rate (the token bucket's size).</summary>
    public int HandshakeBurstPerIp { get; set; } = 100;

    /// <summary>From accept to NetStream.Publish.Start: handshake, connect, createStream and publish together.</summary>
    public int PublishTimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// Slowloris: before publishing, a connection whose average rate since accept falls below this many bytes per
    /// second (checked from <see cref="SlowClientGraceSeconds"/> on) is closed. A real encoder sends ~3.5 KB at once.
    /// </summary>
    public int MinBytesPerSecondBeforePublish { get; set; } = 128;

    public int SlowClientGraceSeconds { get; set; } = 2;

    /// <summary>Stream-key guessing: this many refused keys from one IP address within the window...</summary>
    public int MaxFailedPublishesPerIp { get; set; } = 10;

    public int FailedPublishWindowSeconds { get; set; } = 60;

    /// <summary>...block that address's publishes (even with a good key) for this long.</summary>
    public int FailedPublishBlockSeconds { get; set; } = 300;

    /// <summary>
    /// How many video tracks one publish may carry, its default track included: an encoder that makes its own ladder
    /// (Enhanced RTMP v2 multitrack, OBS's Enhanced Broadcasting) sends each rung as a track, and the server packages them
    /// without transcoding. Each track holds a hub with its group of pictures, so the cap bounds a publisher's memory;
    /// a track over it is dropped with a warning and the others go on. 1 refuses multitrack publishes.
    /// </summary>
    public int MaxVideoTracks { get; set; } = 6;

    /// <summary>
    /// How many audio tracks one Enhanced RTMP v2 multitrack publish may carry, track 0 included: track 0 is the default
    /// audio, each other one an alternate audio rendition (untagged: the tags carry no language). Each holds a hub, so
    /// the cap bounds a publisher's memory; a track over it is dropped with a warning and the others go on. 1 takes
    /// track 0 only.
    /// </summary>
    public int MaxAudioTracks { get; set; } = 4;
}
