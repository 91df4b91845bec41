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

    public int HandshakeTimeoutSeconds { get; set; } = 10;

    /// <summary>A connection that sends nothing for this long is closed.</summary>
    public int IdleTimeoutSeconds { get; set; } = 30;

    /// <summary>Our outgoing chunk size, announced with Set Chunk Size after connect.</summary>
    public int ChunkSize { get; set; } = 4096;

    /// <summary>Window Acknowledgement Size and Set Peer Bandwidth we announce after connect.</summary>
    public int WindowAcknowledgementSize { get; set; } = 2_500_000;
}
