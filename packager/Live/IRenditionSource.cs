using Broadcast.Media;

namespace Broadcast.Packager.Live;

/// <summary>
/// Extra video renditions of a live stream (the transcoder's rungs), each published on its own <see cref="LiveStream"/>
/// with the source's timestamps. Owned by the packager, its consumer; the server adapts the transcoder to it, so
/// neither module knows the other.
/// </summary>
public interface IRenditionSource
{
    /// <summary>
    /// Rendition name to the stream carrying it, in ladder order; empty when the stream has none (the source alone is
    /// served). A non-empty list is the whole video ladder: an entry named <c>source</c> (its value the published stream)
    /// keeps the source as the passthrough rung; without one the source's video is not packaged (passthrough off) and
    /// the first rung leads.
    /// </summary>
    Task<IReadOnlyList<KeyValuePair<string, LiveStream>>> GetAsync(LiveStream source, CancellationToken cancellationToken);
}

/// <summary>Adapts a method with the right shape (e.g. the transcoder's) without either side referencing the other.</summary>
public sealed class DelegateRenditionSource(Func<LiveStream, CancellationToken, Task<IReadOnlyList<KeyValuePair<string, LiveStream>>>> get)
    : IRenditionSource
{
    public Task<IReadOnlyList<KeyValuePair<string, LiveStream>>> GetAsync(LiveStream source, CancellationToken cancellationToken)
        => get(source, cancellationToken);
}
