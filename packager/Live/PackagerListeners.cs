using Broadcast.Packager.Manifests;
using Broadcast.Packager.Segmenting;

namespace Broadcast.Packager.Live;

/// <summary>
/// One broadcast's listeners, made in the order their objects go to the store and told in that order (see
/// <see cref="IPackagerListener"/>): the recording's journal and the live state that relies on it, the low-latency parts,
/// then live HLS and the MPD, the recording, and last the deletes of what left the manifests. The state goes first so a
/// node that dies between the writes never leaves a playlist naming a segment the state does not: the continuing node
/// would give that number to its own segment (hls.js: discontinuity sequence mismatch).
/// Serialised by its <see cref="StreamPackager"/>.
/// </summary>
internal sealed class PackagerListeners : IPackagerListener
{
    private readonly IPackagerListener[] _all;

    /// <param name="journaledThrough">A continued recorded broadcast: the journal chunks the dead node stored; else 0.</param>
    public PackagerListeners(PackagedBroadcast broadcast, LowLatencyParts? lowLatency, IRetentionHold hold, long journaledThrough)
    {
        Hls = new HlsLiveWriter(broadcast, lowLatency);
        Retention = new SegmentRetention(broadcast, lowLatency, hold);
        RecordingJournal? journal = null;
        if (broadcast.Recording)
        {
            journal = new RecordingJournal(broadcast, journaledThrough);
            Recording = new RecordingWriter(broadcast, journaledThrough);
        }
        State = new LiveStateWriter(broadcast, journal);
        _all = [.. journal is null ? [] : new IPackagerListener[] { journal }, State,
            .. lowLatency is null ? [] : new IPackagerListener[] { lowLatency }, Hls, new DashLiveWriter(broadcast, lowLatency),
            .. Recording is null ? [] : new IPackagerListener[] { Recording }, Retention];
    }

    public HlsLiveWriter Hls { get; }

    public SegmentRetention Retention { get; }

    /// <summary>The recording's writer; null when the broadcast is not recorded.</summary>
    public RecordingWriter? Recording { get; }

    public LiveStateWriter State { get; }

    public void OnInitStored(string rendition, int initVersion, long bytes)
    {
        foreach (var l in _all) l.OnInitStored(rendition, initVersion, bytes);
    }

    public void OnPartStored(ClosedPart part)
    {
        foreach (var l in _all) l.OnPartStored(part);
    }

    public void OnSegmentClosing(string rendition, long number)
    {
        foreach (var l in _all) l.OnSegmentClosing(rendition, number);
    }

    public void OnSegmentStored(SegmentDescription segment)
    {
        foreach (var l in _all) l.OnSegmentStored(segment);
    }

    public async Task OnPartsAddedAsync(IReadOnlySet<string> renditions, CancellationToken cancellationToken)
    {
        foreach (var l in _all) await l.OnPartsAddedAsync(renditions, cancellationToken).ConfigureAwait(false);
    }

    public async Task OnSegmentsAddedAsync(CancellationToken cancellationToken)
    {
        foreach (var l in _all) await l.OnSegmentsAddedAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task OnRenditionRetiringAsync(RenditionTimeline timeline, CancellationToken cancellationToken)
    {
        foreach (var l in _all) await l.OnRenditionRetiringAsync(timeline, cancellationToken).ConfigureAwait(false);
    }

    public async Task OnLadderChangedAsync(CancellationToken cancellationToken)
    {
        foreach (var l in _all) await l.OnLadderChangedAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task OnEndedAsync(CancellationToken cancellationToken)
    {
        foreach (var l in _all) await l.OnEndedAsync(cancellationToken).ConfigureAwait(false);
    }
}
