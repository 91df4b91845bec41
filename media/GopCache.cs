namespace Broadcast.Media;

/// <summary>
/// The frames since the newest video keyframe, handed to a reader that joins mid-stream so it can decode from its first
/// frame (audio-only streams: every frame since the cache was last emptied). Bounded: an encoder with a very long GOP
/// leaves it empty rather than holding an undecodable tail. Holds one reference per frame; used under the hub's lock.
/// </summary>
internal sealed class GopCache
{
    private const int MaxFrames = 2048;
    private const long MaxBytes = 64L * 1024 * 1024;

    private readonly List<MediaFrame> _frames = new();
    private long _bytes;

    /// <param name="hasVideo">The stream has a video track: nothing is cached before its first keyframe.</param>
    public void Add(MediaFrame frame, bool hasVideo)
    {
        if (frame.Kind == MediaKind.Video && frame.IsKeyframe) Clear();
        else if (hasVideo && _frames.Count == 0) return; // wait for the first keyframe
        if (_frames.Count >= MaxFrames || _bytes + frame.Length > MaxBytes)
        {
            // An encoder with a very long GOP: keep nothing rather than an undecodable tail.
            Clear();
            return;
        }
        _frames.Add(frame.AddRef());
        _bytes += frame.Length;
    }

    public void OfferTo(LiveStreamReader reader)
    {
        foreach (var cached in _frames) reader.Offer(cached);
    }

    public void Clear()
    {
        foreach (var f in _frames) f.Release();
        _frames.Clear();
        _bytes = 0;
    }
}
