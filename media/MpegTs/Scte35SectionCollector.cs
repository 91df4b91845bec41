using Broadcast.Media.Scte35;

namespace Broadcast.Media.MpegTs;

/// <summary>
/// The program's SCTE-35 PID (stream_type 0x86, SCTE 35 §8): its splice_info_sections gathered like PSI (pointer_field,
/// spanning packets), with the continuity check of a PES stream, since a section missing a packet would fail its CRC
/// anyway. Each section read becomes a <see cref="SpliceSignal"/>: a splice_insert starting a break
/// (<see cref="SpliceBreak"/>) as a <see cref="SpliceCue"/> at its splice time in the stream's media time, anything else
/// (malformed sections included) as a refusal with its reason. An ad marker never fails the stream.
/// </summary>
internal sealed class Scte35SectionCollector
{
    /// <summary>
    /// A splice time further than this from the newest picture (either way) is on another clock, not an announcement of
    /// the next break: the same one-minute bound as an RTMP cue point's pre-roll.
    /// </summary>
    private const long MaxSpliceDistance = 60L * Timescales.Video;

    private readonly LiveStream _stream;
    private readonly PsiSectionAssembler _section;
    private readonly List<SpliceSignal> _signals = [];
    private int? _continuity;
    private long? _lastVideoDts;

    public Scte35SectionCollector(LiveStream stream)
    {
        _stream = stream;
        _section = new PsiSectionAssembler(ReadSection, SpliceInfoSection.MaxLength);
    }

    /// <summary>The PID, from the last PMT; null when the program has none.</summary>
    public int? Pid { get; private set; }

    /// <summary>Continuity counter gaps seen on the PID; each drops the section being gathered.</summary>
    public long ContinuityErrors { get; private set; }

    /// <summary>The sections read since the last <see cref="Clear"/>, in order (a repeat of the last one is not read again).</summary>
    public IReadOnlyList<SpliceSignal> Signals => _signals;

    public void Clear() => _signals.Clear();

    /// <summary>Follows the PMT: a new PID (or none) starts over.</summary>
    public void Bind(int? pid)
    {
        if (pid == Pid) return;
        Pid = pid;
        _section.Forget();
        _continuity = null;
    }

    /// <summary>
    /// A packet on the PID. <paramref name="lastVideoDts"/>: the newest picture's unwrapped DTS, which the splice time is
    /// measured against. Faults become refusals.
    /// </summary>
    public void ReadPacket(in TsPacketHeader header, ReadOnlySpan<byte> payload, long? lastVideoDts)
    {
        if (!header.HasPayload) return;
        if (_continuity is int last)
        {
            if (header.ContinuityCounter == last) return; // 2.4.3.3: a duplicate packet
            if (header.ContinuityCounter != ((last + 1) & 0x0F))
            {
                ContinuityErrors++;
                _section.Active = false; // the section being gathered lost bytes: wait for the next one to start
            }
        }
        _continuity = header.ContinuityCounter;
        _lastVideoDts = lastVideoDts;
        if (!_section.TryRead(header, payload, out var error))
        {
            _section.Active = false;
            _signals.Add(new SpliceSignal(null, null, error));
        }
    }

    private bool ReadSection(ReadOnlySpan<byte> bytes, out string? error)
    {
        error = null;
        if (!SpliceInfoSection.TryRead(bytes, out var section, out _, out var fault))
        {
            _signals.Add(new SpliceSignal(null, null, $"malformed SCTE-35 splice_info_section on PID {Pid}: {fault}"));
            return true;
        }
        if (!SpliceBreak.TryRead(section!, out var insert, out long duration, out var refusal)
            || !TryPlace(section!, insert, out var at, out refusal))
        {
            _signals.Add(new SpliceSignal(section, null, refusal));
            return true;
        }
        _signals.Add(new SpliceSignal(section, new SpliceCue(insert.EventId, at, duration, section, "mpegts"), null));
        return true;
    }

    /// <summary>
    /// The splice time in the stream's media time. pts_time + pts_adjustment (SCTE 35 §9.6, §9.8.1) is a 33-bit 90 kHz
    /// time on the clock of the video's PTS, so it lies as far from the newest picture's decode time as it does on the
    /// stream's timeline, whatever offset a reconnect join gave it. A time already past (the section came late) and
    /// splice_immediate_flag mean now; before the first picture there is nothing to measure from: as soon as possible.
    /// </summary>
    private bool TryPlace(SpliceInfoSection section, SpliceInsert insert, out long? at, out string? refusal)
    {
        at = null;
        refusal = null;
        if (_lastVideoDts is not long lastDts || _stream.LastVideoTime is not long now) return true;
        if (insert.Immediate || insert.PtsTime is not long pts)
        {
            at = now;
            return true;
        }
        long ahead = PtsUnwrapper.WrapDifference(pts + section.PtsAdjustment - lastDts);
        if (Math.Abs(ahead) > MaxSpliceDistance)
        {
            refusal = $"SCTE-35 splice_insert {insert.EventId} is {ahead / Timescales.Video} s from the video (pts_time {pts}, " +
                $"pts_adjustment {section.PtsAdjustment}): not on this stream's clock";
            return false;
        }
        at = now + Math.Max(0, ahead);
        return true;
    }
}
