namespace Broadcast.Ingest.Rtmp.Client;

/// <summary>How an <see cref="RtmpPublishClient"/> connects and writes.</summary>
public sealed class RtmpPublishClientOptions
{
    /// <summary>Bound on TCP connect + TLS + handshake + the publish flow.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A write (one frame) that cannot be flushed within this time means the destination is stuck.</summary>
    public TimeSpan WriteTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Our outgoing chunk size, announced first.</summary>
    public int ChunkSize { get; init; } = 4096;

    /// <summary>Largest message accepted from the server (commands only; servers send nothing big).</summary>
    public int MaxMessageSize { get; init; } = 1024 * 1024;

    /// <summary>rtmps:// only: accept a certificate that does not validate (self-signed test servers). Off by default.</summary>
    public bool AllowUntrustedCertificate { get; init; }
}

/// <summary>
/// The destination refused or broke the publish; <see cref="Exception.Message"/> is the reason in a few fixed words ("connection
/// refused", "TLS verification failed", "the server refused the publish (NetStream.Publish.BadName)"), never the remote's own text,
/// which is in <see cref="Detail"/> for a debug log.
/// </summary>
public sealed class RtmpPublishException(string message, Exception? inner = null, string? detail = null) : Exception(message, inner)
{
    public string? Detail { get; } = detail;
}
