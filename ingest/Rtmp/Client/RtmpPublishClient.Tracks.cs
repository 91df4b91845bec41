using Broadcast.Media;
using Broadcast.Media.Flv;

namespace Broadcast.Ingest.Rtmp.Client;

/// <summary>
/// The tracks beside the default ones (Enhanced RTMP v2 multitrack), sent one track per message with
/// <see cref="FlvMultitrackWriter"/>, on the time base <see cref="SendFrameAsync"/> set with the default tracks' first frame.
/// </summary>
public sealed partial class RtmpPublishClient
{
    // Keyed by kind and track id (a byte each way): at most 512 entries each, whatever the caller sends.
    private readonly Dictionary<(MediaKind Kind, byte TrackId), MediaTrack> _sentTracks = new();
    private readonly HashSet<(MediaKind Kind, byte TrackId)> _flowingTracks = new();

    /// <summary>
    /// Announces track <paramref name="trackId"/> with its sequence start before any of its frames, as an encoder does at the
    /// start of a publish: a server learns the whole set of tracks before the default track's first picture (our own ingest
    /// sets a broadcast's ladder and languages there). Stamped with the newest time sent, 0 before any frame.
    /// </summary>
    public async ValueTask SendTrackSequenceStartAsync(MediaTrack track, byte trackId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(track);
        ArgumentOutOfRangeException.ThrowIfZero(trackId);
        if (!FlvMultitrackWriter.CanCarry(track)) return;
        ThrowIfReadLoopFailed();
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _body.ResetWrittenCount();
            FlvMultitrackWriter.WriteSequenceStart(_body, track, trackId);
            Write(track.Kind == MediaKind.Video, _lastTimestamp, _body.WrittenSpan);
            _sentTracks[(track.Kind, trackId)] = track;
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Sends a frame of track <paramref name="trackId"/> (1–255; 0 is the default track, sent by <see cref="SendFrameAsync"/>)
    /// as a one-track multitrack message, preceded by the track's sequence start whenever its decoder configuration is new.
    /// False, with nothing sent, when the frame cannot go yet or at all: the codec cannot travel over RTMP, no default frame has
    /// set the time base, the frame is older than that base, or a video track has not reached its first keyframe (the
    /// destination's first picture of every track must decode).
    /// </summary>
    public async ValueTask<bool> SendTrackFrameAsync(MediaFrame frame, byte trackId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ArgumentOutOfRangeException.ThrowIfZero(trackId);
        var track = frame.Track;
        if (!FlvMultitrackWriter.CanCarry(track)) return false;
        ThrowIfReadLoopFailed();
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_baseMs is not { } baseMs) return false;
            long ms = Timescales.Rescale(frame.Dts, track.Timescale, Timescales.Milliseconds);
            if (ms < baseMs) return false;
            bool video = track.Kind == MediaKind.Video;
            var key = (track.Kind, trackId);
            if (video && !frame.IsKeyframe && !_flowingTracks.Contains(key)) return false;
            uint timestamp = (uint)(ms - baseMs);
            _lastTimestamp = Math.Max(_lastTimestamp, timestamp);
            if (!_sentTracks.TryGetValue(key, out var sent) || (!ReferenceEquals(sent, track) && !track.HasSameConfig(sent)))
            {
                _body.ResetWrittenCount();
                FlvMultitrackWriter.WriteSequenceStart(_body, track, trackId);
                Write(video, timestamp, _body.WrittenSpan);
            }
            _sentTracks[key] = track;
            _flowingTracks.Add(key);
            _body.ResetWrittenCount();
            FlvMultitrackWriter.WriteFrame(_body, frame, trackId);
            Write(video, timestamp, _body.WrittenSpan);
            await FlushAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        finally
        {
            _writeLock.Release();
        }
    }
}
