using Broadcast.Packager.Manifests;
using Broadcast.Packager.Segmenting;

namespace Broadcast.Packager.Live;

/// <summary>
/// One writer of a broadcast's outputs besides its media (shaka-packager's MuxerListener shape): <see cref="StreamPackager"/>
/// cuts and stores the CMAF objects, then tells its listeners, in the order they were added, what it stored and what is
/// due. Listeners are called under the packager's gate, one call at a time, so they keep plain state. The order of
/// the calls is the order of the store writes: a manifest goes out only after every object it names.
/// </summary>
internal interface IPackagerListener
{
    /// <summary>An init segment (CMAF header) of <paramref name="rendition"/> was stored.</summary>
    void OnInitStored(string rendition, int initVersion, long bytes) { }

    /// <summary>A low-latency part was stored.</summary>
    void OnPartStored(ClosedPart part) { }

    /// <summary>A segment is about to be stored (its parts were stored before).</summary>
    void OnSegmentClosing(string rendition, long number) { }

    /// <summary>A segment was stored and added to its rendition's timeline.</summary>
    void OnSegmentStored(SegmentDescription segment) { }

    /// <summary>Parts were stored and no segment closed: the playlists listing parts of <paramref name="renditions"/> are due.</summary>
    Task OnPartsAddedAsync(IReadOnlySet<string> renditions, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Segments were stored: the live manifests naming them are due, then the clean-up of what left them.</summary>
    Task OnSegmentsAddedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>A video rendition stops for good while the broadcast goes on; its timeline is not yet marked retired.</summary>
    Task OnRenditionRetiringAsync(RenditionTimeline timeline, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>What the master playlist offers changed (a rendition retired, captions declared): the live manifests are rewritten.</summary>
    Task OnLadderChangedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The broadcast ended and every segment is stored: final manifests, the recording, the due deletes.</summary>
    Task OnEndedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
