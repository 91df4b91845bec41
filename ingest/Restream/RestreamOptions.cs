namespace Broadcast.Ingest.Restream;

/// <summary>Restreaming to the channels' destinations (section "Restream").</summary>
public sealed class RestreamOptions
{
    public const string SectionName = "Restream";

    /// <summary>Push live channels to their enabled destinations.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>First reconnect delay after a failure; doubles per failure in a row up to <see cref="BackoffMaxSeconds"/>.</summary>
    public double BackoffInitialSeconds { get; set; } = 1;

    public double BackoffMaxSeconds { get; set; } = 30;

    /// <summary>Frames queued per destination; a destination this far behind is dropped to the next keyframe.</summary>
    public int QueueFrames { get; set; } = 512;

    /// <summary>Bound on connect + TLS + handshake + publish.</summary>
    public double ConnectTimeoutSeconds { get; set; } = 10;

    /// <summary>A destination that accepts no data this long is disconnected and retried.</summary>
    public double WriteTimeoutSeconds { get; set; } = 10;

    /// <summary>Outgoing RTMP chunk size.</summary>
    public int ChunkSize { get; set; } = 4096;

    /// <summary>Destinations are re-read this often while live, so changes made on another node are picked up.</summary>
    public double RefreshSeconds { get; set; } = 10;

    /// <summary>Accept self-signed rtmps:// certificates for every destination (test setups only).</summary>
    public bool AllowUntrustedCertificates { get; set; }

    internal RestreamBackoff Backoff => new(TimeSpan.FromSeconds(BackoffInitialSeconds), TimeSpan.FromSeconds(BackoffMaxSeconds));
}
