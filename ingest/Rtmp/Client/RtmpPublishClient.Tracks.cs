using Broadcast.Media;
using Broadcast.Media.Flv;

namespace Broadcast.Ingest.Rtmp.Client;

/// <summary>
/// The tracks beside the default ones (Enhanced RTMP v2 multitrack), sent one track per message with
/// <see cref="FlvMultitrackWriter"/>, on the time base <see cref="SendFrameAsync"/> set with the default tracks' first frame.
/// </summary>
public sealed partial class RtmpPublishClient
{
    // Keyed by kind and track id (a byte each way): at most 512 entries, whatever the caller sends.
    private readonly Dictionary<(MediaKind Kind, byte TrackId), MediaTrack> _sentTracks = new();

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
            bool started = _sentTracks.TryGetValue(key, out var sent);
            if (!started && video && !frame.IsKeyframe) return false;
            uint timestamp = (uint)(ms - baseMs);
            _lastTimestamp = Math.Max(_lastTimestamp, timestamp);
            if (!started || (!ReferenceEquals(sent, track) && !track.HasSameConfig(sent)))
            {
                _body.ResetWrittenCount();
                FlvMultitrackWriter.WriteSequenceStart(_body, track, trackId);
                Write(video, timestamp, _body.WrittenSpan);
            }
            _sentTracks[key] = track;
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
