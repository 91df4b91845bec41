namespace Broadcast.Ingest.Srt;

/// <summary>
/// SRT ingest settings, bound from the "Srt" configuration section. Off unless <see cref="Port"/> is set. Connection
/// limits, per-address limits, the stream-key guessing block, the idle timeout and the largest frame are RTMP's
/// (<c>Rtmp:*</c>), so both protocols hold publishers to the same rules.
/// </summary>
public sealed class SrtOptions
{
    public const string SectionName = "Srt";

    /// <summary>UDP port of the one listener; null leaves SRT off, 0 picks a free port (tests read <see cref="SrtServer.LocalEndPoint"/>).</summary>
    public int? Port { get; set; }

    /// <summary>Defaults to <c>Rtmp:BindAddress</c>.</summary>
    public string? BindAddress { get; set; }

    /// <summary>
    /// AES encryption (SRTO_PASSPHRASE, 10 to 79 characters): callers must give the same passphrase; one without it,
    /// or with another, is refused during the handshake (libsrt enforces encryption by default).
    /// </summary>
    public string? Passphrase { get; set; }

    /// <summary>AES key length in bytes (SRTO_PBKEYLEN: 16, 24 or 32); 0 takes the caller's, or 16.</summary>
    public int KeyLength { get; set; }

    /// <summary>
    /// SRT latency in milliseconds (SRTO_LATENCY; the larger of ours and the caller's applies): how long the receiver
    /// waits for retransmissions. 120 is libsrt's default; links across the internet want 3-4 times the round trip.
    /// </summary>
    public int LatencyMs { get; set; } = 120;

    /// <summary>The ffmpeg that turns a publisher's Opus audio into AAC (<c>Srt:FfmpegPath</c>): set from the node's
    /// <c>Broadcast.Processes.FfmpegLocator</c>, which falls back to <c>Transcode:FfmpegPath</c>, else "ffmpeg" on PATH.</summary>
    public string FfmpegPath { get; set; } = "";

    /// <summary>AAC bitrate of audio that arrives as Opus (bit/s).</summary>
    public long OpusToAacBitrate { get; set; } = 128_000;

    /// <summary>
    /// The most ADTS AAC streams of one program taken, the first included: the first is the default audio, each further
    /// one (another language, an audio description) an alternate audio rendition labelled by its ISO 639 descriptor.
    /// Streams past the cap are ignored (and logged); 1 keeps only the first. Memory per publisher grows with it.
    /// </summary>
    public int MaxAudioTracks { get; set; } = 4;
}
