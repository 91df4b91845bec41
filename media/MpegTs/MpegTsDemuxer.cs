using Broadcast.Media.Codecs;
using Broadcast.Media.Codecs.Opus;
using Broadcast.Media.Scte35;

namespace Broadcast.Media.MpegTs;

/// <summary>
/// Turns an MPEG-TS byte stream (ISO/IEC 13818-1) into <see cref="MediaFrame"/>s written to a <see cref="LiveStream"/>:
/// the first program's first H.264 or HEVC stream and first ADTS AAC stream, exactly the frames an RTMP publish gives
/// (length-prefixed NAL units, raw AAC, 90 kHz video and sample-rate audio timestamps). Further ADTS AAC streams, up to
/// <c>maxAudioTracks</c> in all, become the encoder's alternate audio (<see cref="LiveStream.AlternateAudioTrack"/>), each
/// labelled by its ISO 639 language descriptor as the first one is (<see cref="LiveStream.AudioLabel"/>). With an
/// <see cref="IOpusAudioSink"/>, the first Opus stream is the audio instead when the program has no AAC: its packets go
/// to the sink, not into the stream.
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
/// header, a PES past the size bound, a broken ADTS frame, a broken Opus control header or TOC — makes <see cref="TryWrite"/> return false with a
/// reason; the
/// caller closes the connection. Not thread-safe: one publisher drives one demuxer. Nothing is allocated per frame beyond
/// the pooled frame itself (an SCTE-35 section, seconds apart, allocates what it is read into). The spec's parts are
/// their own types: <see cref="PsiSectionAssembler"/>, <see cref="PesAssembler"/>, <see cref="AnnexBAccessUnitWriter"/>
/// and <see cref="Scte35SectionCollector"/>.
/// </remarks>
public sealed class MpegTsDemuxer : IDisposable
{
    /// <summary>The largest PES (one video access unit) accepted by default: a 4K keyframe fits.</summary>
    public const int DefaultMaxPesSize = 16 * 1024 * 1024;

    private const int PatPid = 0;
    private const int NoPid = -1;

    private readonly int _maxPesSize;
    private readonly byte[] _carry = new byte[TsPacketHeader.PacketSize];
    private int _carryLength;
    private readonly PsiSectionAssembler _patSection;
    private readonly PsiSectionAssembler _pmtSection;
    private int _pmtPid = NoPid;
    private readonly Scte35SectionCollector _splice;
    private PesAssembler? _video;
    private PesAssembler? _audio;
    private readonly List<(PesAssembler Pes, AdtsAudioWriter Writer)> _alternates = new();
    private readonly int _maxAudioTracks;
    private readonly AnnexBAccessUnitWriter _videoWriter;
    private long _pesContinuityErrors;

    private readonly AdtsAudioWriter _audioWriter;
    private PtsUnwrapper _opusClock;
    private readonly IOpusAudioSink? _opus;

    /// <param name="opus">Takes an Opus audio stream; without it, Opus is one of the <see cref="IgnoredStreams"/>.</param>
    /// <param name="maxAudioTracks">The most AAC streams taken, the first included; 1 takes only the first.</param>
    public MpegTsDemuxer(LiveStream stream, int maxPesSize = DefaultMaxPesSize, IOpusAudioSink? opus = null, int maxAudioTracks = 1)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPesSize, 1024);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAudioTracks, 1);
        _opus = opus;
        _maxAudioTracks = maxAudioTracks;
        _audioWriter = new AdtsAudioWriter(stream, alternate: null);
        Stream = stream;
        _maxPesSize = maxPesSize;
        _patSection = new PsiSectionAssembler(TryApplyPat);
        _pmtSection = new PsiSectionAssembler(TryApplyPmt);
        _splice = new Scte35SectionCollector(stream);
        _videoWriter = new AnnexBAccessUnitWriter(stream);
    }

    public LiveStream Stream { get; }

    /// <summary>Packets read so far.</summary>
    public long Packets { get; private set; }

    /// <summary>Continuity counter gaps seen (packets lost on the way); each drops the PES it fell into.</summary>
    public long ContinuityErrors => _pesContinuityErrors + _splice.ContinuityErrors;

    /// <summary>The program's elementary streams the demuxer does not take (other codecs, data, a second SCTE-35 PID), from the last PMT.</summary>
    public IReadOnlyList<PmtStream> IgnoredStreams { get; private set; } = [];

    /// <summary>The audio stream the program's last PMT gave (ADTS AAC, else Opus), or null when it has none.</summary>
    public PmtStream? AudioStream { get; private set; }

    /// <summary>The alternate audio streams the program's last PMT gave (the AAC streams after the first that have a hub).</summary>
    public IReadOnlyList<PmtStream> AlternateAudioStreams { get; private set; } = [];

    /// <summary>Set when the last <see cref="TryWrite"/> read a new PMT (for a log line naming what is taken and ignored).</summary>
    public bool ProgramChanged { get; private set; }

    /// <summary>The PID of the program's SCTE-35 splice information, from the last PMT; null when it has none.</summary>
    public int? SplicePid => _splice.Pid;

    /// <summary>The splice_info_sections the last <see cref="TryWrite"/> read, in order (a repeat of the last one is not read again).</summary>
    public IReadOnlyList<SpliceSignal> SpliceSignals => _splice.Signals;

    /// <summary>
    /// Reads <paramref name="data"/>, any number of bytes continuing the stream. False with a reason when the stream is
    /// malformed; the demuxer is then in an undefined state and the caller drops the connection.
    /// </summary>
    public bool TryWrite(ReadOnlySpan<byte> data, out string? error)
    {
        error = null;
        ProgramChanged = false;
        _splice.Clear();
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
        foreach (var (pes, _) in _alternates) pes.Dispose();
        _alternates.Clear();
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
            error = $"scrambled TS packets on PID {header.Pid} (transport_scrambling_control {header.Scrambling}): " +
                "encrypt with the SRT passphrase instead";
            return false;
        }
        var payload = header.HasPayload ? packet[payloadStart..] : ReadOnlySpan<byte>.Empty;
        if (header.Pid == PatPid) return _patSection.TryRead(header, payload, out error);
        if (header.Pid == _pmtPid) return _pmtSection.TryRead(header, payload, out error);
        if (header.Pid == _splice.Pid)
        {
            _splice.ReadPacket(header, payload, _videoWriter.LastDts);
            return true;
        }
        if (_video is { } video && header.Pid == video.Pid) return TryReadPes(video, header, payload, out error);
        if (_audio is { } audio && header.Pid == audio.Pid) return TryReadPes(audio, header, payload, out error);
        foreach (var (pes, _) in _alternates)
            if (header.Pid == pes.Pid) return TryReadPes(pes, header, payload, out error);
        return true;
    }

    private static int PidOf(ReadOnlySpan<byte> packet) => ((packet[1] & 0x1F) << 8) | packet[2];

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
        PmtStream? video = null, audio = null, splice = null, opus = null;
        var ignored = new List<PmtStream>();
        var alternates = new List<PmtStream>();
        foreach (var stream in pmt.Streams)
        {
            if (video is null && stream.StreamType is TsStreamType.H264 or TsStreamType.Hevc) video = stream;
            else if (audio is null && stream.StreamType == TsStreamType.AacAdts) audio = stream;
            else if (stream.StreamType == TsStreamType.AacAdts && alternates.Count + 1 < _maxAudioTracks) alternates.Add(stream);
            else if (opus is null && _opus is not null && OpusTsDescriptors.IsOpus(stream)) opus = stream;
            else if (splice is null && stream.StreamType == TsStreamType.Scte35) splice = stream;
            else ignored.Add(stream);
        }
        // AAC needs no conversion, so it wins over an Opus stream beside it (a second language, say).
        if (audio is not null && opus is not null) ignored.Add(opus);
        else if (opus is not null)
        {
            if (OpusTsDescriptors.ChannelCount(opus) is not int channels)
            {
                error = $"Opus stream on PID {opus.Pid} without a channel_config_code of 0 to 8 (its extension descriptor)";
                return false;
            }
            audio = opus;
            if (_audio is not { } current || current.Pid != opus.Pid || current.StreamType != opus.StreamType) _opus!.Open(channels);
        }
        if (video is null && audio is null)
        {
            error = "program map table has no H.264, HEVC, ADTS AAC or Opus stream (stream types "
                + string.Join(", ", pmt.Streams.Select(s => $"0x{s.StreamType:X2}")) + ")";
            return false;
        }
        _video = Rebind(_video, video, isVideo: true);
        _audio = Rebind(_audio, audio, isVideo: false);
        if (audio?.StreamType == TsStreamType.AacAdts) Stream.AudioLabel = LabelOf(audio);
        BindAlternates(alternates, ignored);
        _splice.Bind(splice?.Pid);
        IgnoredStreams = ignored;
        AudioStream = audio;
        ProgramChanged = true;
        return true;
    }

    private static AudioLabel LabelOf(PmtStream stream) => Iso639LanguageDescriptor.Find(stream) is { } language
        ? new AudioLabel(language.Language, (AudioPurpose)language.AudioType)
        : AudioLabel.Unlabelled;

    /// <summary>
    /// The PMT's further AAC streams feed the encoder's alternate audio: a stream that stays keeps its assembly, a new one
    /// gets the hub of its PID (the same after a reconnect), and one the hub refuses (it came after the broadcast's
    /// renditions were set) is ignored.
    /// </summary>
    private void BindAlternates(List<PmtStream> wanted, List<PmtStream> ignored)
    {
        var kept = new List<(PesAssembler Pes, AdtsAudioWriter Writer)>();
        foreach (var stream in wanted)
        {
            int existing = _alternates.FindIndex(a => a.Pes.Pid == stream.Pid);
            if (existing >= 0)
            {
                kept.Add(_alternates[existing]);
                _alternates.RemoveAt(existing);
                continue;
            }
            if (Stream.AlternateAudioTrack(stream.Pid, LabelOf(stream), _maxAudioTracks, out _) is not { } hub)
            {
                ignored.Add(stream);
                continue;
            }
            kept.Add((new PesAssembler(stream.Pid, stream.StreamType), new AdtsAudioWriter(Stream, hub)));
        }
        foreach (var (pes, _) in _alternates) pes.Dispose();
        _alternates.Clear();
        _alternates.AddRange(kept);
        AlternateAudioStreams = wanted.Where(w => kept.Exists(k => k.Pes.Pid == w.Pid)).ToArray();
    }

    /// <summary>Keeps the assembly of a stream whose PID and type stay; anything else starts over.</summary>
    private PesAssembler? Rebind(PesAssembler? current, PmtStream? wanted, bool isVideo)
    {
        if (current is not null && wanted is not null && current.Pid == wanted.Pid && current.StreamType == wanted.StreamType) return current;
        current?.Dispose();
        if (wanted is null) return null;
        if (isVideo) _videoWriter.WaitForKeyframe();
        return new PesAssembler(wanted.Pid, wanted.StreamType);
    }

    private bool TryReadPes(PesAssembler stream, in TsPacketHeader header, ReadOnlySpan<byte> payload, out string? error)
    {
        error = null;
        if (!header.HasPayload) return true;
        if (stream.ContinuityCounter is int last)
        {
            int expected = (last + 1) & 0x0F;
            if (header.ContinuityCounter == last) return true; // 2.4.3.3: a duplicate packet, sent once more
            if (header.ContinuityCounter != expected)
            {
                _pesContinuityErrors++;
                stream.Drop();
                if (stream == _video) _videoWriter.WaitForKeyframe();
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

    private bool TryFlush(PesAssembler stream, out string? error)
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
        if (stream == _audio)
            return stream.StreamType == TsStreamType.AacAdts
                ? _audioWriter.TryWrite(header, payload, out error)
                : TryWriteOpus(header, payload, out error);
        if (stream != _video) return _alternates.Find(a => a.Pes == stream).Writer.TryWrite(header, payload, out error);
        return _videoWriter.TryWrite(stream.StreamType == TsStreamType.Hevc ? Codec.H265 : Codec.H264, header, payload, out error);
    }

    /// <summary>
    /// An Opus PES: one or more access units, each an <see cref="OpusControlHeader"/> and the packet it sizes. The PTS names
    /// the first; each later one follows the one before by its samples. Trims are not applied: they drop a few milliseconds
    /// at the very start or end of a stream, which a live publish does not need.
    /// </summary>
    private bool TryWriteOpus(in PesHeader header, ReadOnlySpan<byte> payload, out string? error)
    {
        error = null;
        long dts = Timescales.Rescale(_opusClock.Unwrap(header.Pts), Timescales.Video, OpusPacket.SampleRate);
        while (!payload.IsEmpty)
        {
            if (!OpusControlHeader.TryRead(payload, out var control, out int headerLength))
            {
                error = $"malformed Opus control header in the audio PES ({payload.Length} bytes left)";
                return false;
            }
            if (headerLength + control.PayloadSize > payload.Length)
            {
                error = $"Opus access unit of {control.PayloadSize} bytes runs past its PES ({payload.Length - headerLength} bytes left)";
                return false;
            }
            var packet = payload.Slice(headerLength, control.PayloadSize);
            if (!OpusPacket.TryGetSamples(packet, out int samples))
            {
                error = packet.IsEmpty ? "empty Opus packet"
                    : packet.Length > OpusPacket.MaxBytes
                        ? $"Opus packet of {packet.Length} bytes, more than an Opus packet can hold ({OpusPacket.MaxBytes})"
                    : $"Opus packet with an invalid TOC or frame count (first byte 0x{packet[0]:X2}, {packet.Length} bytes)";
                return false;
            }
            _opus!.Write(dts, packet, samples);
            dts += samples;
            payload = payload[(headerLength + control.PayloadSize)..];
        }
        return true;
    }
}
