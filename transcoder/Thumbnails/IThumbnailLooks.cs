namespace Broadcast.Transcoder.Thumbnails;

/// <summary>
/// Whether anyone looks at a stream's thumbnail: the host answers from what its origin served. A stream looked at within
/// <see cref="ThumbnailOptions.LookWindow"/> is renewed every <see cref="ThumbnailOptions.Interval"/>, any other every
/// <see cref="ThumbnailOptions.IdleInterval"/>. Without one (a node that serves no thumbnails itself), every stream is
/// renewed every interval, as nothing here can tell which are looked at.
/// </summary>
public interface IThumbnailLooks
{
    /// <summary>How long ago the stream's thumbnail was last served; null when not lately.</summary>
    TimeSpan? SinceLastLook(string stream);
}
