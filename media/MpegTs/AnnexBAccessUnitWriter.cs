using System.Buffers.Binary;
using Broadcast.Media.Codecs;
using Broadcast.Media.Codecs.H264;
using Broadcast.Media.Codecs.Hevc;

namespace Broadcast.Media.MpegTs;

/// <summary>
/// Writes the H.264 or HEVC access units of an MPEG-TS video stream (Annex B byte streams, one per PES) into a
/// <see cref="LiveStream"/> as the frames an RTMP publish gives: 4-byte length-prefixed NAL units with the parameter
/// sets and access unit delimiters taken out. The parameter sets build the track's avcC/hvcC, a new track when they
/// change; frames wait for a keyframe after a join or a loss. The 33-bit DTS is unwrapped.
/// </summary>
internal sealed class AnnexBAccessUnitWriter(LiveStream stream)
{
    /// <summary>PTS minus DTS beyond this is no encoder's reorder delay (10 s at 90 kHz).</summary>
    private const long MaxCompositionOffset = 10L * Timescales.Video;

    private VideoTrack? _track;
    private byte[] _vps = [];
    private byte[] _sps = [];
    private byte[] _pps = [];
    private bool _waitForKeyframe = true;
    private PtsUnwrapper _clock;

    /// <summary>The newest picture's unwrapped DTS, null before the first.</summary>
    public long? LastDts { get; private set; }

    /// <summary>Drops every access unit up to the next keyframe (the stream was rebound, or packets were lost).</summary>
    public void WaitForKeyframe() => _waitForKeyframe = true;

    private enum NalRole
    {
        Picture,
        Keyframe,
        Vps,
        Sps,
        Pps,
        Drop,
    }

    /// <summary>H.264 7.4.1.2 Table 7-1 / H.265 7.4.2.2 Table 7-1: what a NAL unit type means to the demuxer.</summary>
    private static NalRole RoleOf(Codec codec, ReadOnlySpan<byte> nal)
    {
        if (codec == Codec.H264)
        {
            return (nal[0] & 0x1F) switch
            {
                5 => NalRole.Keyframe,
                7 => NalRole.Sps,
                8 => NalRole.Pps,
                9 or 12 => NalRole.Drop, // access unit delimiter, filler data
                _ => NalRole.Picture,   // slices, SEI (captions travel here), and the rest
            };
        }
        return ((nal[0] >> 1) & 0x3F) switch
        {
            >= 16 and <= 23 => NalRole.Keyframe, // IRAP: BLA, IDR, CRA (and reserved IRAP types)
            32 => NalRole.Vps,
            33 => NalRole.Sps,
            34 => NalRole.Pps,
            35 or 38 => NalRole.Drop,            // access unit delimiter, filler data
            _ => NalRole.Picture,
        };
    }

    public bool TryWrite(Codec codec, in PesHeader header, ReadOnlySpan<byte> accessUnit, out string? error)
    {
        error = null;
        ReadOnlySpan<byte> vps = default, sps = default, pps = default;
        bool keyframe = false;
        int size = 0;
        var reader = new AnnexBReader(accessUnit);
        while (reader.TryReadNext(out var nal))
        {
            switch (RoleOf(codec, nal))
            {
                case NalRole.Vps: if (vps.IsEmpty) vps = nal; break;
                case NalRole.Sps: if (sps.IsEmpty) sps = nal; break;
                case NalRole.Pps: if (pps.IsEmpty) pps = nal; break;
                case NalRole.Drop: break;
                case NalRole.Keyframe: keyframe = true; size += 4 + nal.Length; break;
                default: size += 4 + nal.Length; break;
            }
        }
        bool hasParameterSets = !sps.IsEmpty && !pps.IsEmpty && (codec == Codec.H264 || !vps.IsEmpty);
        if (hasParameterSets
            && (_track is null || _track.Codec != codec || !sps.SequenceEqual(_sps) || !pps.SequenceEqual(_pps) || !vps.SequenceEqual(_vps))
            && !TrySetTrack(codec, vps, sps, pps, out error))
            return false;
        if (_track is null || _track.Codec != codec) return true; // joined before the parameter sets: wait for them
        if (_waitForKeyframe && !keyframe) return true;
        _waitForKeyframe = false;
        if (size == 0) return true;

        long dts = _clock.Unwrap(header.DecodeTime);
        long offset = PtsUnwrapper.WrapDifference(header.Pts - header.DecodeTime);
        if (offset < 0 || offset > MaxCompositionOffset)
        {
            error = $"video PTS {header.Pts} and DTS {header.DecodeTime} are {offset} ticks apart";
            return false;
        }
        LastDts = dts;
        var frame = MediaFrame.Rent(_track, dts, (int)offset, keyframe, size);
        var output = frame.WritableData;
        reader = new AnnexBReader(accessUnit);
        while (reader.TryReadNext(out var nal))
        {
            if (RoleOf(codec, nal) is not (NalRole.Picture or NalRole.Keyframe)) continue;
            BinaryPrimitives.WriteInt32BigEndian(output, nal.Length);
            nal.CopyTo(output[4..]);
            output = output[(4 + nal.Length)..];
        }
        stream.Write(frame);
        return true;
    }

    private bool TrySetTrack(Codec codec, ReadOnlySpan<byte> vps, ReadOnlySpan<byte> sps, ReadOnlySpan<byte> pps, out string? error)
    {
        error = null;
        byte[] config;
        if (codec == Codec.H264)
        {
            if (!AvcDecoderConfigurationRecord.TryCreate([sps.ToArray()], [pps.ToArray()], out var avcC))
            {
                error = "malformed H.264 SPS or PPS";
                return false;
            }
            config = avcC.ToArray();
        }
        else
        {
            if (!HevcDecoderConfigurationRecord.TryCreate([vps.ToArray()], [sps.ToArray()], [pps.ToArray()], out var hvcC))
            {
                error = "malformed HEVC VPS, SPS or PPS";
                return false;
            }
            config = hvcC.ToArray();
        }
        if (!MediaTrackFactory.TryCreateVideo(codec, config, null, out var track, out error)) return false;
        _vps = vps.ToArray();
        _sps = sps.ToArray();
        _pps = pps.ToArray();
        _track = track;
        stream.SetTrack(track);
        return true;
    }
}
