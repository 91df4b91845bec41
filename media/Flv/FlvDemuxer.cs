using System.Buffers.Binary;
using Broadcast.Media.Codecs;

namespace Broadcast.Media.Flv;

/// <summary>
/// Turns FLV tag bodies (as carried in RTMP audio/video messages, or whole tags of an FLV stream through
/// <see cref="TryWrite"/>) into <see cref="MediaFrame"/>s written to a <see cref="LiveStream"/>. Understands legacy FLV
/// AVC/AAC and Enhanced RTMP FourCC video (hvc1, av01). The one FLV reader: RTMP ingest, the transcoder's rungs, pull
/// sources and the slate all go through it.
/// </summary>
/// <remarks>
/// Sequence headers build a track through <see cref="MediaTrackFactory"/>; the stream hears of it only when the
/// decoder configuration actually changed (encoders resend identical headers, e.g. OBS on every reconnect and
/// some hardware encoders before every keyframe). Frames are copied once into a pooled <see cref="MediaFrame"/>,
/// with times rescaled from RTMP milliseconds to the track's timescale; nothing else is allocated per frame.
/// Not thread-safe: one publisher connection (or one pipe) drives one demuxer.
/// </remarks>
public sealed class FlvDemuxer
{
    private VideoTrack? _video;
    private AudioTrack? _audio;
    private FrameRate? _metadataFrameRate;
    private long _videoFramesOnTrack;
    private TimestampUnwrapper _fileTimestamps;
    private FlvEncoderTracks? _encoderTracks;
    private readonly HashSet<byte> _ignoredAudioTracks = new();
    private FlvAlternateAudioTracks? _alternateAudio;

    /// <summary>The Enhanced RTMP video FourCCs taken (<see cref="FlvVideoTagHeader.Codec"/> knows no others; vp09 is refused).</summary>
    public static IReadOnlyList<uint> VideoFourCcs { get; } = [FlvVideoTagHeader.FourCcAvc1, FlvVideoTagHeader.FourCcHvc1, FlvVideoTagHeader.FourCcAv01];

    /// <summary>The Enhanced RTMP audio FourCCs taken: AAC alone (Opus, AC-3 and others are refused).</summary>
    public static IReadOnlyList<uint> AudioFourCcs { get; } = [FlvAudioTagHeader.FourCcMp4a];

    /// <param name="stream">The hub the publish writes into.</param>
    /// <param name="maxVideoTracks">How many video tracks an Enhanced RTMP v2 multitrack publish may carry, its default
    /// track included; 1 refuses multitrack.</param>
    /// <param name="maxAudioTracks">How many audio tracks of a multitrack publish are taken, track 0 included: the others
    /// are alternate audio; 1 takes track 0 only.</param>
    public FlvDemuxer(LiveStream stream, int maxVideoTracks = 1, int maxAudioTracks = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxVideoTracks, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAudioTracks, 1);
        Stream = stream;
        MaxVideoTracks = maxVideoTracks;
        MaxAudioTracks = maxAudioTracks;
    }

    public LiveStream Stream { get; }

    /// <summary>How many video tracks a multitrack publish may carry (its default track included).</summary>
    public int MaxVideoTracks { get; }

    /// <summary>How many audio tracks of a multitrack publish are taken (track 0 included).</summary>
    public int MaxAudioTracks { get; }

    /// <summary>
    /// Raised once per track (named "video track 3", "audio track 1") when an encoder's extra track is dropped: a video
    /// track that started after the ladder was set, is over the cap or stopped; an audio track beside track 0. The
    /// publish goes on with the tracks it had.
    /// </summary>
    public event Action<string, string>? TrackRefused;

    /// <summary>The last video frame's decode time (in the video track's timescale), or null before the first.</summary>
    public long? LastVideoDts { get; private set; }

    /// <summary>
    /// Handles one tag of an FLV byte stream (ffmpeg's output on a pipe): its 32-bit timestamp unwrapped, its body handled as an
    /// RTMP message's would be. Script data (onMetaData) is skipped: what the stream needs comes from the sequence headers.
    /// </summary>
    public bool TryWrite(FlvTag tag, out string? error)
    {
        long ms = _fileTimestamps.Unwrap(tag.TimestampMs);
        error = null;
        return tag.Type switch
        {
            FlvTagType.Video => TryWriteVideo(ms, tag.Data, out error),
            FlvTagType.Audio => TryWriteAudio(ms, tag.Data, out error),
            _ => true,
        };
    }

    /// <summary>Handles one RTMP video message (type 9). <paramref name="timestampMs"/> is already unwrapped to 64 bits.
    /// Returns false with a reason when the payload is malformed; the caller closes the connection.</summary>
    public bool TryWriteVideo(long timestampMs, ReadOnlySpan<byte> body, out string? error)
    {
        error = null;
        // A command frame (FrameType 5) carries a command byte, not tracks, whatever its packet type says.
        if (FlvVideoMultitrackReader.IsMultitrack(body) && (FlvVideoFrameType)((body[0] >> 4) & 0x07) != FlvVideoFrameType.Command)
            return TryWriteMultitrackVideo(timestampMs, body, out error);
        if (!FlvVideoTagHeader.TryRead(body, out var header, out int consumed))
        {
            error = body.IsEmpty ? "empty video tag" : $"truncated or malformed video tag header ({body.Length} bytes)";
            return false;
        }
        return TryWriteVideoPacket(timestampMs, header, body[consumed..], out error);
    }

    /// <summary>One track's packet: the default track's (a legacy or single-track tag, or track 0 of a multitrack one).</summary>
    private bool TryWriteVideoPacket(long timestampMs, in FlvVideoTagHeader header, ReadOnlySpan<byte> payload, out string? error)
    {
        error = null;
        switch (header.PacketType)
        {
            case FlvVideoPacketType.SequenceStart:
                return TrySetVideoConfig(header, payload, out error);
            case FlvVideoPacketType.CodedFrames:
            case FlvVideoPacketType.CodedFramesX:
                break;
            case FlvVideoPacketType.SequenceEnd:
            case FlvVideoPacketType.Metadata: // HDR colour info: not needed to package the stream
                return true;
            default:
                error = $"unsupported enhanced RTMP video packet type {(int)header.PacketType}";
                return false;
        }
        if (header.FrameType == FlvVideoFrameType.Command) return true; // no picture in it
        var codec = header.Codec;
        if (codec == Codec.Unknown) return UnsupportedVideo(header, out error);
        if (_video is null || _video.Codec != codec)
        {
            error = $"{codec} video frame before its sequence header";
            return false;
        }
        if (payload.IsEmpty) return true; // some encoders send empty NALU packets (e.g. at stream end): nothing to decode
        long dts = Timescales.Rescale(timestampMs, Timescales.Milliseconds, _video.Timescale);
        int cto = (int)Timescales.Rescale(header.CompositionTimeMs, Timescales.Milliseconds, _video.Timescale);
        if (_encoderTracks is not null && !_encoderTracks.NoteDefault(timestampMs, header.IsKeyframe, out error)) return false;
        var frame = MediaFrame.Rent(_video, dts, cto, header.IsKeyframe, payload);
        _videoFramesOnTrack++;
        LastVideoDts = dts;
        Stream.Write(frame);
        return true;
    }

    /// <summary>
    /// An Enhanced RTMP v2 multitrack video message: track 0 is the default track (this hub's video), every other track a
    /// rung of the encoder's ladder on a hub of its own. Every track of the message is read; the first bad one refuses the
    /// publish (what came before it in the message was written).
    /// </summary>
    private bool TryWriteMultitrackVideo(long timestampMs, ReadOnlySpan<byte> body, out string? error)
    {
        if (MaxVideoTracks == 1)
        {
            error = "multitrack video (Enhanced RTMP v2) is not accepted here (Rtmp:MaxVideoTracks is 1)";
            return false;
        }
        if (!FlvVideoMultitrackReader.TryCreate(body, out var reader, out error)) return false;
        _encoderTracks ??= new FlvEncoderTracks(Stream, MaxVideoTracks, (track, reason) => TrackRefused?.Invoke($"video track {track}", reason));
        while (reader.TryReadNext(out var packet, out error))
        {
            bool ok = packet.TrackId == 0
                ? TryWriteVideoPacket(timestampMs, packet.Header, packet.Payload, out error)
                : _encoderTracks.TryWrite(packet.TrackId, timestampMs, packet.Header, packet.Payload, out error);
            if (!ok) return false;
        }
        return error is null;
    }

    /// <summary>Handles one RTMP audio message (type 8): legacy AAC, or Enhanced RTMP audio whose FourCC is 'mp4a'.</summary>
    public bool TryWriteAudio(long timestampMs, ReadOnlySpan<byte> body, out string? error)
    {
        error = null;
        if (!FlvAudioTagHeader.TryRead(body, out var header, out int consumed))
        {
            error = body.IsEmpty ? "empty audio tag" : $"truncated audio tag header ({body.Length} bytes)";
            return false;
        }
        if (header.SoundFormat == FlvSoundFormat.ExHeader) return TryWriteEnhancedAudio(timestampMs, body, out error);
        if (header.SoundFormat != FlvSoundFormat.Aac)
        {
            error = $"unsupported audio codec {FlvAudioTagHeader.FormatName(header.SoundFormat)}";
            return false;
        }
        return header.AacPacketType switch
        {
            FlvAudioTagHeader.AacSequenceHeader => TrySetAudioConfig(body[consumed..], out error),
            FlvAudioTagHeader.AacRaw => TryWriteAac(timestampMs, body[consumed..], out error),
            _ => Refuse($"unknown AACPacketType {header.AacPacketType}", out error),
        };
    }

    /// <summary>
    /// Enhanced RTMP audio (ExAudioTagHeader, enhanced-rtmp-v2): <c>SoundFormat(4)=9 AudioPacketType(4)</c>, then the FourCC
    /// and the packet, or a multitrack message. Track 0 is the publish's audio; the others, up to <see cref="MaxAudioTracks"/>,
    /// are the encoder's alternate audio (<see cref="FlvAlternateAudioTracks"/>); a track past it is dropped and named once
    /// through <see cref="TrackRefused"/>, so an encoder that sends more (OBS does, for a separate VOD track) still publishes.
    /// </summary>
    private bool TryWriteEnhancedAudio(long timestampMs, ReadOnlySpan<byte> body, out string? error)
    {
        byte packetType = (byte)(body[0] & 0x0F);
        if (packetType != FlvAudioTagHeader.EnhancedPacketMultitrack)
        {
            if (body.Length < 5) return Refuse($"truncated enhanced audio tag header ({body.Length} bytes)", out error);
            return TryWriteAudioPacket(timestampMs, packetType, BinaryPrimitives.ReadUInt32BigEndian(body[1..]), body[5..], out error);
        }
        if (!FlvMultitrackTracks.TryCreate(body, "audio", out byte inner, out var tracks, out error)) return false;
        if (inner is FlvAudioTagHeader.EnhancedPacketMultitrack or > FlvAudioTagHeader.EnhancedPacketMultichannelConfig)
            return Refuse($"audio packet type {inner} inside a multitrack message", out error);
        while (tracks.TryReadNext(out byte trackId, out uint fourCc, out var data, out error))
        {
            if (trackId == 0)
            {
                if (!TryWriteAudioPacket(timestampMs, inner, fourCc, data, out error)) return false;
            }
            else if (MaxAudioTracks > 1)
            {
                if (fourCc != FlvAudioTagHeader.FourCcMp4a)
                    return Refuse($"unsupported audio codec FourCC '{FlvVideoTagHeader.FourCcToString(fourCc)}' on audio track {trackId}", out error);
                _alternateAudio ??= new FlvAlternateAudioTracks(Stream, MaxAudioTracks,
                    (t, reason) => TrackRefused?.Invoke($"audio track {t}", reason));
                if (!_alternateAudio.TryWrite(timestampMs, trackId, inner, data, out error)) return false;
            }
            else if (_ignoredAudioTracks.Add(trackId))
                TrackRefused?.Invoke($"audio track {trackId}", "only audio track 0 is taken here (Rtmp:MaxAudioTracks is 1)");
        }
        return error is null;
    }

    private bool TryWriteAudioPacket(long timestampMs, byte packetType, uint fourCc, ReadOnlySpan<byte> payload, out string? error)
    {
        error = null;
        if (fourCc != FlvAudioTagHeader.FourCcMp4a)
            return Refuse($"unsupported audio codec FourCC '{FlvVideoTagHeader.FourCcToString(fourCc)}'", out error);
        return packetType switch
        {
            0 => TrySetAudioConfig(payload, out error), // SequenceStart: the AudioSpecificConfig
            1 => TryWriteAac(timestampMs, payload, out error), // CodedFrames
            // SequenceEnd; the channel layout (the AudioSpecificConfig has it for AAC)
            2 or FlvAudioTagHeader.EnhancedPacketMultichannelConfig => true,
            _ => Refuse($"unsupported enhanced RTMP audio packet type {packetType}", out error),
        };
    }

    private bool TryWriteAac(long timestampMs, ReadOnlySpan<byte> payload, out string? error)
    {
        error = null;
        if (_audio is null) return Refuse("AAC frame before its sequence header (AudioSpecificConfig)", out error);
        if (payload.IsEmpty) return true;
        long dts = Timescales.Rescale(timestampMs, Timescales.Milliseconds, _audio.Timescale);
        Stream.Write(MediaFrame.Rent(_audio, dts, 0, true, payload));
        return true;
    }

    private static bool Refuse(string reason, out string? error)
    {
        error = reason;
        return false;
    }

    /// <summary>Handles <c>@setDataFrame</c>/<c>onMetaData</c> values (framerate, width, height, encoder...).</summary>
    public void SetMetadata(IReadOnlyDictionary<string, object?> metadata)
    {
        Stream.SetMetadata(metadata);
        _metadataFrameRate = metadata.TryGetValue("framerate", out var value) ? ToFrameRate(value) : null;
        // Metadata that arrives after the sequence header still names the rate, as long as no frame was described yet.
        if (_video is { FrameRate: null } video && _metadataFrameRate is not null && _videoFramesOnTrack == 0)
        {
            _video = video.WithFrameRate(_metadataFrameRate);
            Stream.SetTrack(_video);
        }
    }

    private bool TrySetVideoConfig(in FlvVideoTagHeader header, ReadOnlySpan<byte> config, out string? error)
    {
        error = null;
        var codec = header.Codec;
        if (codec == Codec.Unknown) return UnsupportedVideo(header, out error);
        // The default track of a multitrack publish keeps its codec like the others (its rungs were cut to match it).
        if (!FlvVideoConfig.TryChange(_video, codec, config, codecMayChange: _encoderTracks is null, _metadataFrameRate,
                _encoderTracks is null ? "" : "video track 0: ", out var track, out error)) return false;
        if (track is null) return true;
        _video = track;
        _videoFramesOnTrack = 0;
        Stream.SetTrack(track);
        return true;
    }

    private bool TrySetAudioConfig(ReadOnlySpan<byte> config, out string? error)
    {
        error = null;
        if (config.IsEmpty)
        {
            error = "empty AAC sequence header";
            return false;
        }
        if (_audio is not null && _audio.DecoderConfig.Span.SequenceEqual(config)) return true;
        if (!MediaTrackFactory.TryCreateAudio(Codec.Aac, config, out var track, out error)) return false;
        _audio = track;
        Stream.SetTrack(track);
        return true;
    }

    private static bool UnsupportedVideo(in FlvVideoTagHeader header, out string? error)
    {
        error = header.IsExHeader
            ? $"unsupported video codec FourCC '{FlvVideoTagHeader.FourCcToString(header.FourCc)}'"
            : $"unsupported video codec id {header.CodecId}";
        return false;
    }

    private static FrameRate? ToFrameRate(object? value) => value switch
    {
        double d => FrameRate.FromDouble(d),
        float f => FrameRate.FromDouble(f),
        int i => FrameRate.FromDouble(i),
        long l => FrameRate.FromDouble(l),
        decimal m => FrameRate.FromDouble((double)m),
        string s when double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d)
            => FrameRate.FromDouble(d),
        _ => null,
    };
}
