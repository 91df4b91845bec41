namespace Broadcast.Ingest;

/// <summary>
/// The per-publisher limit on encoder ad cues, shared by RTMP onCuePoint and the SCTE-35 PID of SRT: a break is seconds
/// long, so more than one cue per second of media is a runaway encoder or a flood, not ads. Each would cost a log line and
/// a packager call; they are dropped, and the caller says so once per connection (<paramref name="firstDrop"/>).
/// </summary>
internal struct CueFloodGuard
{
    private long? _lastMs;
    private bool _dropLogged;

    /// <summary>True when a cue at <paramref name="mediaTimeMs"/> (the publisher's media clock) may go on.</summary>
    public bool Admit(long mediaTimeMs, out bool firstDrop)
    {
        firstDrop = false;
        if (_lastMs is long previous && Math.Abs(mediaTimeMs - previous) < 1000)
        {
            firstDrop = !_dropLogged;
            _dropLogged = true;
            return false;
        }
        _lastMs = mediaTimeMs;
        return true;
    }
}
