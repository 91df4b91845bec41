using Broadcast.Media;

namespace Broadcast.Ingest.Flv;

/// <summary>
/// Turns FLV tag bodies (as carried in RTMP audio/video messages) into <see cref="MediaFrame"/>s written to a
/// <see cref="LiveStream"/>. Understands legacy FLV AVC/AAC and Enhanced RTMP FourCC video (hvc1, av01).
/// CONTRACT STUB: implemented by the FLV work item.
/// </summary>
public sealed class FlvDemuxer
{
    public FlvDemuxer(LiveStream stream) => Stream = stream;

    public LiveStream Stream { get; }

    /// <summary>Handles one RTMP video message (type 9). <paramref name="timestampMs"/> is already unwrapped to 64 bits.
    /// Returns false with a reason when the payload is malformed; the caller closes the connection.</summary>
    public bool TryWriteVideo(long timestampMs, ReadOnlySpan<byte> body, out string? error) => throw new NotImplementedException();

    /// <summary>Handles one RTMP audio message (type 8).</summary>
    public bool TryWriteAudio(long timestampMs, ReadOnlySpan<byte> body, out string? error) => throw new NotImplementedException();

    /// <summary>Handles <c>@setDataFrame</c>/<c>onMetaData</c> values (framerate, width, height, encoder...).</summary>
    public void SetMetadata(IReadOnlyDictionary<string, object?> metadata) => Stream.SetMetadata(metadata);
}
