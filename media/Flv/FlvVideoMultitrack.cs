using System.Buffers.Binary;

namespace Broadcast.Media.Flv;

/// <summary>How the tracks of an Enhanced RTMP v2 multitrack message share their codec (AvMultitrackType).</summary>
public enum FlvMultitrackType : byte
{
    /// <summary>One track in the message, no size field: its data runs to the end of the body.</summary>
    OneTrack = 0,
    /// <summary>Several tracks, one FourCC for all, each track's data preceded by its size.</summary>
    ManyTracks = 1,
    /// <summary>Several tracks, each with its own FourCC before its id.</summary>
    ManyTracksManyCodecs = 2,
}

/// <summary>One track's packet inside a multitrack video message: its id, a single-track header, and its data.</summary>
/// <param name="TrackId">The encoder's video track id; 0 is the default track (the spec's RECOMMENDED convention).</param>
/// <param name="Header">What a single-track enhanced tag with this packet would say: frame type, FourCC, packet type, composition time.</param>
/// <param name="Payload">The sequence start's configuration record or the coded frame's NAL units / OBUs.</param>
public readonly ref struct FlvVideoTrackPacket(byte trackId, FlvVideoTagHeader header, ReadOnlySpan<byte> payload)
{
    public byte TrackId { get; } = trackId;

    public FlvVideoTagHeader Header { get; } = header;

    public ReadOnlySpan<byte> Payload { get; } = payload;
}

/// <summary>
/// Reads the tracks of an Enhanced RTMP v2 multitrack video message (VideoPacketType 6), allocation-free. The layout
/// (enhanced-rtmp-v2, ExVideoTagHeader and ExVideoTagBody):
/// <code>
/// IsExHeader(1)=1 FrameType(3) PacketType(4)=Multitrack
/// AvMultitrackType(4) PacketType(4)            the tracks' packet type; never Multitrack again
/// FourCC(32)                                   unless ManyTracksManyCodecs
/// per track: [FourCC(32) if ManyTracksManyCodecs] TrackId(8) [SizeOfTrack(UI24) unless OneTrack] track data
/// track data of CodedFrames for avc1/hvc1:     CompositionTime(SI24 ms) then the NAL units
/// </code>
/// The frame type in the first byte applies to every track of the message. A message may batch several tracks: the
/// whole body is read, and a size that runs past it, an unknown multitrack type, a nested multitrack or ModEx packet
/// type, or bytes left that do not make a track are errors.
/// </summary>
public ref struct FlvVideoMultitrackReader
{
    private readonly FlvVideoFrameType _frameType;
    private readonly FlvVideoPacketType _packetType;
    private FlvMultitrackTracks _tracks;

    private FlvVideoMultitrackReader(FlvVideoFrameType frameType, FlvVideoPacketType packetType, FlvMultitrackTracks tracks)
    {
        _frameType = frameType;
        _packetType = packetType;
        _tracks = tracks;
    }

    /// <summary>The message's multitrack type.</summary>
    public readonly FlvMultitrackType Type => _tracks.Type;

    /// <summary>True when <paramref name="body"/> (a whole video tag body) is an enhanced multitrack message.</summary>
    public static bool IsMultitrack(ReadOnlySpan<byte> body) =>
        body.Length > 0 && (body[0] & 0x80) != 0 && (FlvVideoPacketType)(body[0] & 0x0F) == FlvVideoPacketType.Multitrack;

    /// <summary>Reads the message's header; false with a reason when it is truncated or names what the spec does not define.</summary>
    public static bool TryCreate(ReadOnlySpan<byte> body, out FlvVideoMultitrackReader reader, out string? error)
    {
        reader = default;
        if (!IsMultitrack(body))
        {
            error = "not a multitrack video message";
            return false;
        }
        if (!FlvMultitrackTracks.TryCreate(body, "video", out var packetType, out var tracks, out error)) return false;
        var inner = (FlvVideoPacketType)packetType;
        if (inner is FlvVideoPacketType.Multitrack or FlvVideoPacketType.ModEx || (byte)inner > (byte)FlvVideoPacketType.ModEx)
        {
            error = $"video packet type {packetType} inside a multitrack message";
            return false;
        }
        reader = new FlvVideoMultitrackReader((FlvVideoFrameType)((body[0] >> 4) & 0x07), inner, tracks);
        return true;
    }

    /// <summary>
    /// The next track's packet. False at the end of the message (<paramref name="error"/> null) or when the rest does not
    /// make a track (<paramref name="error"/> says why; nothing after it is read).
    /// </summary>
    public bool TryReadNext(out FlvVideoTrackPacket packet, out string? error)
    {
        packet = default;
        if (!_tracks.TryReadNext(out byte trackId, out uint fourCc, out var data, out error)) return false;
        int cts = 0;
        if (_packetType == FlvVideoPacketType.CodedFrames && fourCc is FlvVideoTagHeader.FourCcAvc1 or FlvVideoTagHeader.FourCcHvc1)
        {
            if (data.Length < 3) return _tracks.Fail($"track {trackId} truncated in its composition time", out error);
            cts = FlvVideoTagHeader.ReadSi24(data);
            data = data[3..];
        }
        packet = new FlvVideoTrackPacket(trackId, new FlvVideoTagHeader(_frameType, true, 0, fourCc, _packetType, cts), data);
        return true;
    }
}

/// <summary>
/// The track list of an Enhanced RTMP v2 multitrack message, audio or video alike (the spec gives both the same layout
/// after the first byte): the AvMultitrackType and the tracks' packet type, the shared FourCC unless each track has its
/// own, then per track its id, its size (unless one track) and its data.
/// </summary>
public ref struct FlvMultitrackTracks
{
    private readonly uint _sharedFourCc;
    private ReadOnlySpan<byte> _rest;
    private bool _readOne;

    private FlvMultitrackTracks(FlvMultitrackType type, uint sharedFourCc, ReadOnlySpan<byte> rest)
    {
        Type = type;
        _sharedFourCc = sharedFourCc;
        _rest = rest;
    }

    public FlvMultitrackType Type { get; }

    /// <summary>Reads what follows the first byte of <paramref name="body"/>; <paramref name="kind"/> ("audio", "video") names it in errors.</summary>
    public static bool TryCreate(ReadOnlySpan<byte> body, string kind, out byte packetType, out FlvMultitrackTracks tracks, out string? error)
    {
        tracks = default;
        packetType = 0;
        error = null;
        if (body.Length < 2)
        {
            error = $"multitrack {kind} message without its multitrack type";
            return false;
        }
        var type = (FlvMultitrackType)(body[1] >> 4);
        packetType = (byte)(body[1] & 0x0F);
        if (type > FlvMultitrackType.ManyTracksManyCodecs)
        {
            error = $"reserved multitrack type {(int)type}";
            return false;
        }
        uint fourCc = 0;
        int offset = 2;
        if (type != FlvMultitrackType.ManyTracksManyCodecs)
        {
            if (body.Length < 6)
            {
                error = $"multitrack {kind} message truncated in its FourCC";
                return false;
            }
            fourCc = BinaryPrimitives.ReadUInt32BigEndian(body[2..]);
            offset = 6;
        }
        tracks = new FlvMultitrackTracks(type, fourCc, body[offset..]);
        return true;
    }

    /// <summary>The next track: false at the end (<paramref name="error"/> null) or when the rest does not make one.</summary>
    public bool TryReadNext(out byte trackId, out uint fourCc, out ReadOnlySpan<byte> data, out string? error)
    {
        trackId = 0;
        fourCc = _sharedFourCc;
        data = default;
        error = null;
        if (_rest.IsEmpty)
        {
            if (Type == FlvMultitrackType.OneTrack && !_readOne) error = "multitrack message without a track";
            return false;
        }
        var rest = _rest;
        if (Type == FlvMultitrackType.ManyTracksManyCodecs)
        {
            if (rest.Length < 4) return Fail("a track truncated in its FourCC", out error);
            fourCc = BinaryPrimitives.ReadUInt32BigEndian(rest);
            rest = rest[4..];
        }
        if (rest.IsEmpty) return Fail("a track truncated before its id", out error);
        trackId = rest[0];
        rest = rest[1..];
        if (Type == FlvMultitrackType.OneTrack)
        {
            data = rest;
            rest = default;
        }
        else
        {
            if (rest.Length < 3) return Fail($"track {trackId} truncated in its size", out error);
            int size = (rest[0] << 16) | (rest[1] << 8) | rest[2];
            rest = rest[3..];
            if (size > rest.Length) return Fail($"track {trackId} says {size} bytes but {rest.Length} are left", out error);
            data = rest[..size];
            rest = rest[size..];
        }
        _rest = rest;
        _readOne = true;
        return true;
    }

    /// <summary>Stops the reading here with <paramref name="reason"/>.</summary>
    internal bool Fail(string reason, out string? error)
    {
        _rest = default;
        error = reason;
        return false;
    }
}
