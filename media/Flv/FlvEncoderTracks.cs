using System.Globalization;
using Broadcast.Media.Codecs;

namespace Broadcast.Media.Flv;

/// <summary>
/// The extra video tracks of one Enhanced RTMP v2 multitrack publish: each track's decoder configuration and hub (a rung
/// of the encoder's ladder, <see cref="LiveStream.EncoderRung"/>), and the check that every track's keyframes fall on the
/// same times as the others'. A ladder whose keyframes are not aligned cannot be cut into segments that start together,
/// and players that switch rungs stall on it: the publish is refused with the times that disagree.
/// </summary>
internal sealed class FlvEncoderTracks(LiveStream source, int maxTracks, Action<int, string>? refused)
{
    private readonly List<Track> _tracks = new();
    private readonly RecentFrames _default = new();

    /// <summary>
    /// An extra track that has sent nothing while the default track went on this long has stopped: its rung is retired
    /// (its hub completes, so its playlist ends and the master playlist and MPD stop offering it) rather than left for
    /// players to stall on. Ten seconds: several keyframe intervals of any encoder that feeds a segmenter.
    /// </summary>
    public const long StoppedAfterMs = 10_000;

    /// <summary>A frame of the default track (id 0): the alignment check, and the retirement of tracks that stopped.</summary>
    public bool NoteDefault(long timestampMs, bool keyframe, out string? error)
    {
        foreach (var track in _tracks)
        {
            if (track.Refused || track.Hub is null || track.LastMs is not { } last || timestampMs - last <= StoppedAfterMs) continue;
            track.Refused = true;
            track.Hub.Complete();
            refused?.Invoke(track.Id, string.Create(CultureInfo.InvariantCulture,
                $"it stopped: nothing for {(timestampMs - last) / 1000.0:0.0} s while track 0 went on; its rung is retired"));
        }
        return TryAlign(0, _default, timestampMs, keyframe, out error);
    }

    /// <summary>A packet of an extra track; false with a reason when the publish is to be refused.</summary>
    public bool TryWrite(byte trackId, long timestampMs, in FlvVideoTagHeader header, ReadOnlySpan<byte> payload, out string? error)
    {
        error = null;
        var track = Find(trackId);
        if (track.Refused) return true;
        if (track.Hub is null)
        {
            track.Hub = source.EncoderRung(trackId, maxTracks, out string? refusal);
            if (track.Hub is null)
            {
                track.Refused = true;
                refused?.Invoke(trackId, refusal ?? "refused");
                return true;
            }
        }
        switch (header.PacketType)
        {
            case FlvVideoPacketType.SequenceStart:
                return TrySetConfig(track, header.Codec, payload, out error);
            case FlvVideoPacketType.CodedFrames:
            case FlvVideoPacketType.CodedFramesX:
                break;
            case FlvVideoPacketType.SequenceEnd:
            case FlvVideoPacketType.Metadata:
                return true;
            default:
                error = $"unsupported enhanced RTMP video packet type {(int)header.PacketType} on video track {trackId}";
                return false;
        }
        if (header.FrameType == FlvVideoFrameType.Command) return true;
        if (track.Video is not { } video || video.Codec != header.Codec)
        {
            error = $"video track {trackId}: {header.Codec} frame before its sequence header";
            return false;
        }
        if (payload.IsEmpty) return true;
        if (!TryAlign(trackId, track.Frames, timestampMs, header.IsKeyframe, out error)) return false;
        track.LastMs = timestampMs;
        long dts = Timescales.Rescale(timestampMs, Timescales.Milliseconds, video.Timescale);
        int cto = (int)Timescales.Rescale(header.CompositionTimeMs, Timescales.Milliseconds, video.Timescale);
        source.WriteEncoderRung(track.Hub, MediaFrame.Rent(video, dts, cto, header.IsKeyframe, payload));
        return true;
    }

    private static bool TrySetConfig(Track track, Codec codec, ReadOnlySpan<byte> config, out string? error)
    {
        error = null;
        if (codec == Codec.Unknown)
        {
            error = $"video track {track.Id}: unsupported codec";
            return false;
        }
        if (!FlvVideoConfig.TryChange(track.Video, codec, config, codecMayChange: false, frameRate: null, $"video track {track.Id}: ",
                out var created, out error)) return false;
        if (created is null) return true;
        track.Video = created;
        track.Hub!.SetTrack(created);
        return true;
    }

    private Track Find(byte trackId)
    {
        foreach (var t in _tracks)
            if (t.Id == trackId) return t;
        // Track ids are one byte: at most 255 entries, refused ones included, so a hostile publisher cannot grow this.
        var track = new Track(trackId);
        _tracks.Add(track);
        return track;
    }

    private bool TryAlign(int trackId, RecentFrames frames, long timestampMs, bool keyframe, out string? error)
    {
        error = null;
        frames.Add(timestampMs, keyframe);
        if (trackId != 0 && Disagrees(_default, timestampMs, keyframe))
            error = Misaligned(trackId, 0, timestampMs, keyframe);
        foreach (var other in _tracks)
        {
            if (error is not null) break;
            if (other.Id != trackId && other.Hub is not null && Disagrees(other.Frames, timestampMs, keyframe))
                error = Misaligned(trackId, other.Id, timestampMs, keyframe);
        }
        return error is null;
    }

    private static bool Disagrees(RecentFrames frames, long timestampMs, bool keyframe) =>
        frames.TryFind(timestampMs, out bool otherKeyframe) && otherKeyframe != keyframe;

    private static string Misaligned(int trackId, int otherId, long timestampMs, bool keyframe) => string.Create(CultureInfo.InvariantCulture,
        $"the keyframes of video tracks {Math.Min(trackId, otherId)} and {Math.Max(trackId, otherId)} are not aligned: at {timestampMs / 1000.0:0.000} s track {trackId} has {(keyframe ? "a keyframe" : "no keyframe")} and track {otherId} {(keyframe ? "none" : "one")}; an encoder's ladder needs the same keyframe interval on every track (and no scene-cut keyframes)");

    private sealed class Track(byte id)
    {
        public byte Id { get; } = id;

        public LiveStream? Hub { get; set; }

        public VideoTrack? Video { get; set; }

        /// <summary>Refused, or retired after it stopped: its packets are dropped from now on.</summary>
        public bool Refused { get; set; }

        public long? LastMs { get; set; }

        public RecentFrames Frames { get; } = new();
    }

    /// <summary>The last frames of one track (time, keyframe or not): enough to meet the same time on another track that
    /// is sent a little earlier or later.</summary>
    private sealed class RecentFrames
    {
        private const int Size = 64;
        private readonly long[] _times = new long[Size];
        private readonly bool[] _keyframes = new bool[Size];
        private int _count;
        private int _next;

        public void Add(long timestampMs, bool keyframe)
        {
            _times[_next] = timestampMs;
            _keyframes[_next] = keyframe;
            _next = (_next + 1) % Size;
            if (_count < Size) _count++;
        }

        public bool TryFind(long timestampMs, out bool keyframe)
        {
            for (int i = 0; i < _count; i++)
            {
                if (_times[i] != timestampMs) continue;
                keyframe = _keyframes[i];
                return true;
            }
            keyframe = false;
            return false;
        }
    }
}
