using System.Buffers;
using Broadcast.Media.Codecs;
using Broadcast.Media.Codecs.H264;
using Broadcast.Media.Codecs.Hevc;
using Broadcast.Media.Scte35;

namespace Broadcast.Media.MpegTs;

/// <summary>
/// Turns an MPEG-TS byte stream (ISO/IEC 13818-1) into <see cref="MediaFrame"/>s written to a <see cref="LiveStream"/>:
/// the first program's first H.264 or HEVC stream and first ADTS AAC stream, exactly the frames an RTMP publish gives
/// (length-prefixed NAL units, raw AAC, 90 kHz video and sample-rate audio timestamps).
/// </summary>
/// <remarks>
/// Input may arrive in any slicing (an SRT message carries seven packets; a file read any number of bytes).
/// PSI (PAT, PMT) is assembled per section and parsed only when its bytes change; PES packets are assembled into one
/// pooled buffer per stream, bounded by <c>maxPesSize</c>. Annex B access units become 4-byte length-prefixed NAL units
/// with the parameter sets and access unit delimiters taken out (the parameter sets build the track's avcC/hvcC, a new
/// track when they change); ADTS frames become raw AAC frames with their AudioSpecificConfig from the ADTS header.
/// 33-bit PTS/DTS are unwrapped per stream. The program's SCTE-35 PID (stream_type 0x86) is assembled like PSI and each
/// splice_info_section read becomes a <see cref="SpliceSignal"/> in <see cref="SpliceSignals"/>: a splice_insert starting
/// a break (<see cref="SpliceBreak"/>) as a <see cref="SpliceCue"/> at its splice time in the stream's media time, anything
/// else (malformed sections included) as a refusal with its reason; an ad marker never closes the connection. A
/// continuity counter gap (packets lost) drops the PES being assembled and, for video, every frame up to the next
/// keyframe. Malformed input — lost sync, an impossible adaptation field, a PSI section failing its CRC, a broken PES
/// header, a PES past the size bound, a broken ADTS frame — makes <see cref="TryWrite"/> return false with a reason; the
/// caller closes the connection. Not thread-safe: one publisher drives one demuxer. Nothing is allocated per frame beyond
/// the pooled frame itself (an SCTE-35 section, seconds apart, allocates what it is read into).
/// </remarks>
public sealed class MpegTsDemuxer : IDisposable
{
    /// <summary>The largest PES (one video access unit) accepted by default: a 4K keyframe fits.</summary>
    public const int DefaultMaxPesSize = 16 * 1024 * 1024;

    private const int PatPid = 0;
    private const int NoPid = -1;

    /// <summary>PTS minus DTS beyond this is no encoder's reorder delay (10 s at 90 kHz).</summary>
    private const long MaxCompositionOffset = 10L * Timescales.Video;

    /// <summary>
    /// A splice time further than this from the newest picture (either way) is on another clock, not an announcement of
    /// the next break: the same one-minute bound as an RTMP cue point's pre-roll.
    /// </summary>
    private const long MaxSpliceDistance = 60L * Timescales.Video;

    private readonly int _maxPesSize;
    private readonly byte[] _carry = new byte[TsPacketHeader.PacketSize];
    private int _carryLength;
    private readonly PsiAssembly _patSection = new();
    private readonly PsiAssembly _pmtSection = new();
    private int _pmtPid = NoPid;
    private readonly PsiAssembly _spliceSection = new(SpliceInfoSection.MaxLength);
    private int _splicePid = NoPid;
    private int? _spliceContinuity;
    private readonly List<SpliceSignal> _spliceSignals = [];
    private long? _lastVideoDts;
    private ElementaryStream? _video;
    private ElementaryStream? _audio;

    private VideoTrack? _videoTrack;
    private AudioTrack? _audioTrack;
    private byte[] _vps = [];
    private byte[] _sps = [];
    private byte[] _pps = [];
    private bool _waitForKeyframe = true;
    private PtsUnwrapper _videoClock;
    private PtsUnwrapper _audioClock;

    public MpegTsDemuxer(LiveStream stream, int maxPesSize = DefaultMaxPesSize)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPesSize, 1024);
        Stream = stream;
        _maxPesSize = maxPesSize;
    }

    public LiveStream Stream { get; }

    /// <summary>Packets read so far.</summary>
    public long Packets { get; private set; }

    /// <summary>Continuity counter gaps seen (packets lost on the way); each drops the PES it fell into.</summary>
    public long ContinuityErrors { get; private set; }

    /// <summary>The program's elementary streams the demuxer does not take (other codecs, data, a second SCTE-35 PID), from the last PMT.</summary>
    public IReadOnlyList<PmtStream> IgnoredStreams { get; private set; } = [];

    /// <summary>Set when the last <see cref="TryWrite"/> read a new PMT (for a log line naming what is taken and ignored).</summary>
    public bool ProgramChanged { get; private set; }

    /// <summary>The PID of the program's SCTE-35 splice information, from the last PMT; null when it has none.</summary>
    public int? SplicePid => _splicePid == NoPid ? null : _splicePid;

    /// <summary>The splice_info_sections the last <see cref="TryWrite"/> read, in order (a repeat of the last one is not read again).</summary>
    public IReadOnlyList<SpliceSignal> SpliceSignals => _spliceSignals;

    /// <summary>
    /// Reads <paramref name="data"/>, any number of bytes continuing the stream. False with a reason when the stream is
    /// malformed; the demuxer is then in an undefined state and the caller drops the connection.
    /// </summary>
    public bool TryWrite(ReadOnlySpan<byte> data, out string? error)
    {
        error = null;
        ProgramChanged = false;
        _spliceSignals.Clear();
        if (_carryLength > 0)
        {
            int take = Math.Min(TsPacketHeader.PacketSize - _carryLength, data.Length);
            data[..take].CopyTo(_carry.AsSpan(_carryLength));
            _carryLength += take;
            data = data[take..];
            if (_carryLength < TsPacketHeader.PacketSize) return true;
            _carryLength = 0;
            if (!TryReadPacket(_carry, out error)) return false;
        }
        while (data.Length >= TsPacketHeader.PacketSize)
        {
            if (!TryReadPacket(data[..TsPacketHeader.PacketSize], out error)) return false;
            data = data[TsPacketHeader.PacketSize..];
        }
        if (!data.IsEmpty)
        {
            if (data[0] != TsPacketHeader.SyncByte) return LostSync(data[0], out error);
            data.CopyTo(_carry);
            _carryLength = data.Length;
        }
        return true;
    }

    public void Dispose()
    {
        _video?.Dispose();
        _audio?.Dispose();
        _video = null;
        _audio = null;
    }

    private static bool LostSync(byte found, out string? error)
    {
        error = $"lost MPEG-TS sync: byte 0x{found:X2} where a packet starts (0x47 expected)";
        return false;
    }

    private bool TryReadPacket(ReadOnlySpan<byte> packet, out string? error)
    {
        error = null;
        Packets++;
        if (packet[0] != TsPacketHeader.SyncByte) return LostSync(packet[0], out error);
        if (!TsPacketHeader.TryRead(packet, out var header, out int payloadStart))
        {
            if (((packet[3] >> 4) & 0x3) == 0) return true; // reserved adaptation_field_control: discard (2.4.3.3)
            error = $"malformed TS packet on PID {PidOf(packet)}: adaptation field of {packet[4]} bytes";
            return false;
        }
        if (header.TransportError || header.Pid == TsPacketHeader.NullPid) return true; // marked corrupt by a modulator, or stuffing
        if (header.Scrambling != 0)
        {
            error = $"scrambled TS packets on PID {header.Pid} (transport_scrambling_control {header.Scrambling}): encrypt with the SRT passphrase instead";
            return false;
        }
        var payload = header.HasPayload ? packet[payloadStart..] : ReadOnlySpan<byte>.Empty;
        if (header.Pid == PatPid) return TryReadPsi(_patSection, header, payload, out error);
        if (header.Pid == _pmtPid) return TryReadPsi(_pmtSection, header, payload, out error);
        if (header.Pid == _splicePid)
        {
            ReadSplicePacket(header, payload);
            return true;
        }
        if (_video is { } video && header.Pid == video.Pid) return TryReadPes(video, header, payload, out error);
        if (_audio is { } audio && header.Pid == audio.Pid) return TryReadPes(audio, header, payload, out error);
        return true;
    }

    private static int PidOf(ReadOnlySpan<byte> packet) => ((packet[1] & 0x1F) << 8) | packet[2];

    private bool TryReadPsi(PsiAssembly assembly, in TsPacketHeader header, ReadOnlySpan<byte> payload, out string? error)
    {
        error = null;
        if (payload.IsEmpty) return true;
        if (header.PayloadUnitStart)
        {
            int pointer = payload[0];
            if (pointer + 1 > payload.Length)
            {
                error = $"PSI pointer_field {pointer} runs past the packet on PID {header.Pid}";
                return false;
            }
            // The bytes before the pointer finish a section begun in an earlier packet (2.4.4.2).
            if (assembly.Active && !TryAppendSection(assembly, header.Pid, payload.Slice(1, pointer), out error)) return false;
            assembly.Start();
            return TryAppendSection(assembly, header.Pid, payload[(1 + pointer)..], out error);
        }
        return !assembly.Active || TryAppendSection(assembly, header.Pid, payload, out error);
    }

    private bool TryAppendSection(PsiAssembly assembly, int pid, ReadOnlySpan<byte> bytes, out string? error)
    {
        error = null;
        assembly.Append(bytes);
        if (!assembly.TryGetSection(out var section, out bool stuffing))
        {
            if (assembly.Overlong)
            {
                error = $"PSI section on PID {pid} longer than {assembly.Capacity - 3} bytes";
                return false;
            }
            return true;
        }
        assembly.Active = false;
        if (stuffing || assembly.IsUnchanged(section)) return true; // the table repeats every ~100 ms; parse it once
        assembly.Remember(section);
        if (pid == PatPid) return TryApplyPat(section, out error);
        if (pid == _pmtPid) return TryApplyPmt(section, out error);
        ReadSpliceSection(section);
        return true;
    }

    private bool TryApplyPat(ReadOnlySpan<byte> section, out string? error)
    {
        error = null;
        if (!ProgramAssociationSection.TryRead(section, out var pat, out _))
        {
            error = "malformed program association table (syntax or CRC_32)";
            return false;
        }
        if (pat.FirstProgramMapPid is not { } pmtPid)
        {
            error = "program association table without a program";
            return false;
        }
        if (pmtPid != _pmtPid)
        {
            _pmtPid = pmtPid;
            _pmtSection.Forget();
        }
        return true;
    }

    private bool TryApplyPmt(ReadOnlySpan<byte> section, out string? error)
    {
        error = null;
        if (!ProgramMapSection.TryRead(section, out var pmt, out _))
        {
            error = "malformed program map table (syntax or CRC_32)";
            return false;
        }
        PmtStream? video = null, audio = null, splice = null;
        var ignored = new List<PmtStream>();
        foreach (var stream in pmt.Streams)
        {
            if (video is null && stream.StreamType is TsStreamType.H264 or TsStreamType.Hevc) video = stream;
            else if (audio is null && stream.StreamType == TsStreamType.AacAdts) audio = stream;
            else if (splice is null && stream.StreamType == TsStreamType.Scte35) splice = stream;
            else ignored.Add(stream);
        }
        if (video is null && audio is null)
        {
            error = "program map table has no H.264, HEVC or ADTS AAC stream (stream types "
                + string.Join(", ", pmt.Streams.Select(s => $"0x{s.StreamType:X2}")) + ")";
            return false;
        }
        _video = Rebind(_video, video);
        _audio = Rebind(_audio, audio);
        int splicePid = splice?.Pid ?? NoPid;
        if (splicePid != _splicePid)
        {
            _splicePid = splicePid;
            _spliceSection.Forget();
            _spliceContinuity = null;
        }
        IgnoredStreams = ignored;
        ProgramChanged = true;
        return true;
    }

    /// <summary>Keeps the assembly of a stream whose PID and type stay; anything else starts over.</summary>
    private ElementaryStream? Rebind(ElementaryStream? current, PmtStream? wanted)
    {
        if (current is not null && wanted is not null && current.Pid == wanted.Pid && current.StreamType == wanted.StreamType) return current;
        current?.Dispose();
        if (wanted is null) return null;
        if (wanted.StreamType != TsStreamType.AacAdts) _waitForKeyframe = true;
        return new ElementaryStream(wanted.Pid, wanted.StreamType);
    }

    private bool TryReadPes(ElementaryStream stream, in TsPacketHeader header, ReadOnlySpan<byte> payload, out string? error)
    {
        error = null;
        if (!header.HasPayload) return true;
        if (stream.ContinuityCounter is int last)
        {
            int expected = (last + 1) & 0x0F;
            if (header.ContinuityCounter == last) return true; // 2.4.3.3: a duplicate packet, sent once more
            if (header.ContinuityCounter != expected)
            {
                ContinuityErrors++;
                stream.Drop();
                if (stream.StreamType != TsStreamType.AacAdts) _waitForKeyframe = true;
            }
        }
        stream.ContinuityCounter = header.ContinuityCounter;
        if (header.PayloadUnitStart)
        {
            if (stream.Active && !TryFlush(stream, out error)) return false;
            stream.Start();
        }
        if (!stream.Active) return true; // joined inside a PES, or after a loss: wait for the next start
        if (stream.Length + payload.Length > _maxPesSize)
        {
            error = $"PES on PID {stream.Pid} longer than {_maxPesSize} bytes";
            return false;
        }
        stream.Append(payload);
        // A PES with a length ends at that length; an unbounded one (video, length 0) when the next one starts.
        return stream.DeclaredLength is not int total || stream.Length < total || TryFlush(stream, out error);
    }

    private bool TryFlush(ElementaryStream stream, out string? error)
    {
        error = null;
        var pes = stream.Data;
        stream.Drop();
        if (!PesHeader.TryRead(pes, out var header, out int headerLength))
        {
            error = $"malformed PES header on PID {stream.Pid}";
            return false;
        }
        var payload = pes[headerLength..];
        if (header.PayloadLength >= 0)
        {
            if (payload.Length < header.PayloadLength)
            {
                error = $"PES on PID {stream.Pid} ended after {payload.Length} of its {header.PayloadLength} payload bytes";
                return false;
            }
            payload = payload[..header.PayloadLength];
        }
        if (!header.HasPts)
        {
            error = $"PES without a PTS on PID {stream.Pid}";
            return false;
        }
        return stream.StreamType == TsStreamType.AacAdts
            ? TryWriteAudio(header, payload, out error)
            : TryWriteVideo(stream.StreamType == TsStreamType.Hevc ? Codec.H265 : Codec.H264, header, payload, out error);
    }

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

    private bool TryWriteVideo(Codec codec, in PesHeader header, ReadOnlySpan<byte> accessUnit, out string? error)
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
        if (hasParameterSets && (_videoTrack is null || _videoTrack.Codec != codec || !sps.SequenceEqual(_sps) || !pps.SequenceEqual(_pps) || !vps.SequenceEqual(_vps))
            && !TrySetVideoTrack(codec, vps, sps, pps, out error))
            return false;
        if (_videoTrack is null || _videoTrack.Codec != codec) return true; // joined before the parameter sets: wait for them
        if (_waitForKeyframe && !keyframe) return true;
        _waitForKeyframe = false;
        if (size == 0) return true;

        long dts = _videoClock.Unwrap(header.DecodeTime);
        long offset = WrapDifference(header.Pts - header.DecodeTime);
        if (offset < 0 || offset > MaxCompositionOffset)
        {
            error = $"video PTS {header.Pts} and DTS {header.DecodeTime} are {offset} ticks apart";
            return false;
        }
        _lastVideoDts = dts;
        var frame = MediaFrame.Rent(_videoTrack, dts, (int)offset, keyframe, size);
        var output = frame.WritableData;
        reader = new AnnexBReader(accessUnit);
        while (reader.TryReadNext(out var nal))
        {
            if (RoleOf(codec, nal) is not (NalRole.Picture or NalRole.Keyframe)) continue;
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(output, nal.Length);
            nal.CopyTo(output[4..]);
            output = output[(4 + nal.Length)..];
        }
        Stream.Write(frame);
        return true;
    }

    private bool TrySetVideoTrack(Codec codec, ReadOnlySpan<byte> vps, ReadOnlySpan<byte> sps, ReadOnlySpan<byte> pps, out string? error)
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
        _videoTrack = track;
        Stream.SetTrack(track);
        return true;
    }

    private bool TryWriteAudio(in PesHeader header, ReadOnlySpan<byte> payload, out string? error)
    {
        error = null;
        long pts = _audioClock.Unwrap(header.Pts);
        int index = 0;
        Span<byte> config = stackalloc byte[2];
        while (!payload.IsEmpty)
        {
            if (!AdtsHeader.TryRead(payload, out var adts, out int headerLength))
            {
                error = $"malformed ADTS header in the audio PES ({payload.Length} bytes left)";
                return false;
            }
            if (adts.FrameLength > payload.Length)
            {
                error = $"ADTS frame of {adts.FrameLength} bytes runs past its PES ({payload.Length} bytes left)";
                return false;
            }
            if (adts.RawDataBlocks != 0 || adts.ChannelConfiguration == 0)
            {
                error = adts.RawDataBlocks != 0
                    ? $"ADTS frames with {adts.RawDataBlocks + 1} raw data blocks are not supported"
                    : "ADTS channel configuration 0 (channels in a program config element) is not supported";
                return false;
            }
            adts.WriteAudioSpecificConfig(config);
            if (_audioTrack is null || !_audioTrack.DecoderConfig.Span.SequenceEqual(config))
            {
                if (!MediaTrackFactory.TryCreateAudio(Codec.Aac, config, out var track, out error)) return false;
                _audioTrack = track;
                Stream.SetTrack(track);
            }
            // Frames after the first in one PES follow it by one frame's samples each (the PTS names the first).
            long dts = Timescales.Rescale(pts, Timescales.Video, _audioTrack.Timescale) + (long)index * _audioTrack.SamplesPerFrame;
            var body = payload[headerLength..adts.FrameLength];
            if (!body.IsEmpty) Stream.Write(MediaFrame.Rent(_audioTrack, dts, 0, true, body));
            payload = payload[adts.FrameLength..];
            index++;
        }
        return true;
    }

    /// <summary>
    /// A packet on the SCTE-35 PID: sections are gathered as PSI (pointer_field, spanning packets), with the continuity
    /// check of a PES stream, since a section missing a packet would fail its CRC anyway. Faults become refusals.
    /// </summary>
    private void ReadSplicePacket(in TsPacketHeader header, ReadOnlySpan<byte> payload)
    {
        if (!header.HasPayload) return;
        if (_spliceContinuity is int last)
        {
            if (header.ContinuityCounter == last) return; // 2.4.3.3: a duplicate packet
            if (header.ContinuityCounter != ((last + 1) & 0x0F))
            {
                ContinuityErrors++;
                _spliceSection.Active = false; // the section being gathered lost bytes: wait for the next one to start
            }
        }
        _spliceContinuity = header.ContinuityCounter;
        if (!TryReadPsi(_spliceSection, header, payload, out var error))
        {
            _spliceSection.Active = false;
            _spliceSignals.Add(new SpliceSignal(null, null, error));
        }
    }

    private void ReadSpliceSection(ReadOnlySpan<byte> bytes)
    {
        if (!SpliceInfoSection.TryRead(bytes, out var section, out _, out var fault))
        {
            _spliceSignals.Add(new SpliceSignal(null, null, $"malformed SCTE-35 splice_info_section on PID {_splicePid}: {fault}"));
            return;
        }
        if (!SpliceBreak.TryRead(section!, out var insert, out long duration, out var refusal) || !TryPlaceSplice(section!, insert, out var at, out refusal))
        {
            _spliceSignals.Add(new SpliceSignal(section, null, refusal));
            return;
        }
        _spliceSignals.Add(new SpliceSignal(section, new SpliceCue(insert.EventId, at, duration, section, "mpegts"), null));
    }

    /// <summary>
    /// The splice time in the stream's media time. pts_time + pts_adjustment (SCTE 35 §9.6, §9.8.1) is a 33-bit 90 kHz
    /// time on the clock of the video's PTS, so it lies as far from the newest picture's decode time as it does on the
    /// stream's timeline, whatever offset a reconnect join gave it. A time already past (the section came late) and
    /// splice_immediate_flag mean now; before the first picture there is nothing to measure from: as soon as possible.
    /// </summary>
    private bool TryPlaceSplice(SpliceInfoSection section, SpliceInsert insert, out long? at, out string? refusal)
    {
        at = null;
        refusal = null;
        if (_lastVideoDts is not long lastDts || Stream.LastVideoTime is not long now) return true;
        if (insert.Immediate || insert.PtsTime is not long pts)
        {
            at = now;
            return true;
        }
        long ahead = WrapDifference(pts + section.PtsAdjustment - lastDts);
        if (Math.Abs(ahead) > MaxSpliceDistance)
        {
            refusal = $"SCTE-35 splice_insert {insert.EventId} is {ahead / Timescales.Video} s from the video (pts_time {pts}, pts_adjustment {section.PtsAdjustment}): not on this stream's clock";
            return false;
        }
        at = now + Math.Max(0, ahead);
        return true;
    }

    /// <summary>The difference of two 33-bit timestamps, taking the shorter way round the wrap.</summary>
    private static long WrapDifference(long difference)
    {
        difference &= PtsUnwrapper.Range - 1;
        return difference >= PtsUnwrapper.Range / 2 ? difference - PtsUnwrapper.Range : difference;
    }

    /// <summary>One PSI section being gathered from packets, and the bytes of the last one applied.</summary>
    private sealed class PsiAssembly(int capacity = 3 + PsiSection.MaxSectionLength)
    {
        private readonly byte[] _buffer = new byte[capacity];
        private readonly byte[] _last = new byte[capacity];
        private int _length;
        private int _lastLength;

        public int Capacity => _buffer.Length;

        public bool Active { get; set; }

        public bool Overlong { get; private set; }

        public void Start()
        {
            Active = true;
            Overlong = false;
            _length = 0;
        }

        public void Append(ReadOnlySpan<byte> bytes)
        {
            int take = Math.Min(bytes.Length, _buffer.Length - _length);
            bytes[..take].CopyTo(_buffer.AsSpan(_length));
            _length += take;
        }

        /// <summary>A whole section once its length is in; <paramref name="stuffing"/> when the table ended (0xFF).</summary>
        public bool TryGetSection(out ReadOnlySpan<byte> section, out bool stuffing)
        {
            section = default;
            stuffing = _length > 0 && _buffer[0] == 0xFF;
            if (stuffing) return true;
            if (_length < 3) return false;
            int total = 3 + (((_buffer[1] & 0x0F) << 8) | _buffer[2]);
            if (total > _buffer.Length)
            {
                Overlong = true;
                return false;
            }
            if (_length < total) return false;
            section = _buffer.AsSpan(0, total);
            return true;
        }

        public bool IsUnchanged(ReadOnlySpan<byte> section) => section.SequenceEqual(_last.AsSpan(0, _lastLength));

        public void Remember(ReadOnlySpan<byte> section)
        {
            section.CopyTo(_last);
            _lastLength = section.Length;
        }

        public void Forget()
        {
            _lastLength = 0;
            Active = false;
        }
    }

    /// <summary>One elementary stream's PES being gathered into a pooled buffer that grows up to the size bound.</summary>
    private sealed class ElementaryStream(ushort pid, byte streamType) : IDisposable
    {
        private byte[] _buffer = [];

        public ushort Pid { get; } = pid;

        public byte StreamType { get; } = streamType;

        public int? ContinuityCounter { get; set; }

        public bool Active { get; private set; }

        public int Length { get; private set; }

        public ReadOnlySpan<byte> Data => _buffer.AsSpan(0, Length);

        /// <summary>The whole PES's size once PES_packet_length is in and non-zero; null while unknown or unbounded.</summary>
        public int? DeclaredLength => Length >= 6 && ((_buffer[4] << 8) | _buffer[5]) is int length and > 0 ? 6 + length : null;

        public void Start()
        {
            Active = true;
            Length = 0;
        }

        public void Drop()
        {
            Active = false;
            Length = 0;
        }

        public void Append(ReadOnlySpan<byte> bytes)
        {
            if (Length + bytes.Length > _buffer.Length)
            {
                var larger = ArrayPool<byte>.Shared.Rent(Math.Max(Length + bytes.Length, Math.Max(64 * 1024, _buffer.Length * 2)));
                _buffer.AsSpan(0, Length).CopyTo(larger);
                if (_buffer.Length > 0) ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = larger;
            }
            bytes.CopyTo(_buffer.AsSpan(Length));
            Length += bytes.Length;
        }

        public void Dispose()
        {
            if (_buffer.Length > 0) ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
            Active = false;
            Length = 0;
        }
    }
}
