using Broadcast.Media;
using Broadcast.Media.Flv;
using Broadcast.Media.Scte35;
using Microsoft.Extensions.Logging;

namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// What one RTMP connection's publish puts into its <see cref="LiveStream"/>: FLV audio and video tags through a
/// <see cref="FlvDemuxer"/>, @setDataFrame metadata, and encoder ad cue points. The 32-bit RTMP clocks are the
/// connection's, unwrapped across every publish it makes.
/// </summary>
internal sealed class RtmpMediaFeed(long connectionId, string remote, int maxVideoTracks, int maxAudioTracks, ILogger logger)
{
    private FlvDemuxer? _demuxer;
    private TimestampUnwrapper _audioClock;
    private TimestampUnwrapper _videoClock;
    private uint? _lastVideoTimestamp;
    private CueFloodGuard _cueFlood;

    /// <summary>Media goes into a stream now; before publish, media messages are refused.</summary>
    public bool IsFeeding => _demuxer is not null;

    public void Start(LiveStream stream)
    {
        _demuxer = new FlvDemuxer(stream, maxVideoTracks, maxAudioTracks);
        stream.PublisherRefusal = null;
        _demuxer.TrackRefused += (track, reason) => RtmpLog.TrackRefused(logger, connectionId, remote, track, stream.Name, reason, stream.Tag);
    }

    public void Stop() => _demuxer = null;

    public void WriteMedia(byte typeId, uint timestamp, ReadOnlySpan<byte> payload)
    {
        if (_demuxer is null) throw new RtmpCloseException(typeId == RtmpMessageType.Audio ? "audio before publish" : "video before publish");
        string? error;
        bool ok = typeId == RtmpMessageType.Audio
            ? _demuxer.TryWriteAudio(_audioClock.Unwrap(timestamp), payload, out error)
            : _demuxer.TryWriteVideo(_videoClock.Unwrap(timestamp), payload, out error);
        if (typeId == RtmpMessageType.Video) _lastVideoTimestamp = timestamp;
        if (!ok)
        {
            string reason = $"invalid {(typeId == RtmpMessageType.Audio ? "audio" : "video")} message: {error}";
            _demuxer.Stream.PublisherRefusal = reason;
            throw new RtmpCloseException(reason);
        }
    }

    /// <summary>
    /// Aggregate message (§7.1.6): FLV-style sub-messages (type, size, timestamp, stream id, body, back pointer).
    /// Sub-message timestamps are shifted so the first one equals the aggregate's timestamp.
    /// </summary>
    public void WriteAggregate(uint timestamp, ReadOnlySpan<byte> payload)
    {
        bool first = true;
        uint baseTimestamp = 0;
        while (!payload.IsEmpty)
        {
            if (payload.Length < 11) throw new RtmpCloseException("truncated aggregate message");
            byte type = payload[0];
            int size = (int)ChunkHeader.ReadUInt24(payload[1..]);
            uint ts = ChunkHeader.ReadUInt24(payload[4..]) | (uint)payload[7] << 24;
            if (payload.Length < 11 + size + 4) throw new RtmpCloseException("truncated aggregate message");
            if (first)
            {
                baseTimestamp = ts;
                first = false;
            }
            var body = payload.Slice(11, size);
            if (type is RtmpMessageType.Audio or RtmpMessageType.Video) WriteMedia(type, timestamp + (ts - baseTimestamp), body);
            payload = payload[(11 + size + 4)..];
        }
    }

    /// <summary>@setDataFrame onMetaData: true when it was one and the stream took it.</summary>
    public bool TrySetMetadata(RtmpDataMessage data)
    {
        if (_demuxer is null || !data.TryGetMetadata(out var metadata)) return false;
        _demuxer.SetMetadata(metadata);
        return true;
    }

    /// <summary>
    /// An encoder's ad cue point: the break is asked of the stream's packager at the message's place among the frames (the
    /// newest video frame's stream time plus how far the cue's timestamp is past that frame's, plus its pre-roll). One the
    /// service cannot use is logged and dropped; it is no reason to close a publisher.
    /// </summary>
    public void WriteCuePoint(LiveStream stream, RtmpDataMessage data, uint timestamp, string? channelId)
    {
        if (!_cueFlood.Admit(timestamp, out bool firstDrop))
        {
            if (firstDrop) RtmpLog.CuePointRefused(logger, connectionId, remote, stream.Name, "cue points closer than one second apart are dropped",
                channelId);
            return;
        }
        if (!RtmpCuePoint.TryRead(data, out var cue, out var refusal))
        {
            if (refusal is not null) RtmpLog.CuePointRefused(logger, connectionId, remote, stream.Name, refusal, channelId);
            return;
        }
        long ahead = _lastVideoTimestamp is uint last ? unchecked((int)(timestamp - last)) : 0;
        long delayMs = Math.Clamp(ahead, 0, RtmpCuePoint.MaxPreRollMs) + cue.PreRollMs;
        long? at = stream.LastVideoTime is long t ? t + Timescales.Rescale(delayMs, Timescales.Milliseconds, Timescales.Video) : null;
        uint id = cue.EventId ?? (uint)Random.Shared.NextInt64(1, uint.MaxValue);
        bool packaged = stream.InsertCue(new SpliceCue(id, at, Timescales.Rescale(cue.DurationMs, Timescales.Milliseconds, Timescales.Video),
            cue.Section, "rtmp"));
        RtmpLog.CuePoint(logger, connectionId, remote, stream.Name, id, cue.DurationMs, delayMs, packaged, channelId);
    }
}
