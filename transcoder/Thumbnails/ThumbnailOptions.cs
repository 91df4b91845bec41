namespace Broadcast.Transcoder.Thumbnails;

/// <summary>
/// <c>Thumbnails:*</c>: a JPEG of each live channel's picture, refreshed every <see cref="Interval"/>, for channel lists,
/// the watch page's <c>og:image</c> and CDN-cached previews.
/// </summary>
public sealed class ThumbnailOptions
{
    /// <summary><c>Thumbnails:Enabled</c> (default true).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary><c>Thumbnails:IntervalSeconds</c> (default 10, 2–300): how often a live channel's thumbnail is renewed while
    /// someone looks at it (it was served within <see cref="LookWindow"/>).</summary>
    public int IntervalSeconds { get; set; } = 10;

    /// <summary><c>Thumbnails:IdleIntervalSeconds</c> (default 300, at least the interval, at most 3600): how often the thumbnail of a
    /// channel nobody looks at is renewed, so the poster a recording keeps and a picture served elsewhere stay this recent.</summary>
    public int IdleIntervalSeconds { get; set; } = 300;

    /// <summary><c>Thumbnails:Height</c> (default 360, 90–1080): the JPEG's height; the width keeps the picture's aspect.</summary>
    public int Height { get; set; } = 360;

    /// <summary>The node's ffmpeg (<c>Broadcast.Processes.FfmpegLocator</c>), set by the registration.</summary>
    public required string FfmpegPath { get; set; }

    public TimeSpan Interval => TimeSpan.FromSeconds(Math.Clamp(IntervalSeconds, 2, 300));

    public TimeSpan IdleInterval => TimeSpan.FromSeconds(Math.Clamp(IdleIntervalSeconds, (int)Interval.TotalSeconds, 3600));

    /// <summary>A thumbnail served this recently is looked at: six intervals, at least a minute, so a page opened again
    /// within that shows a picture at most an interval old.</summary>
    public TimeSpan LookWindow => TimeSpan.FromSeconds(Math.Max(60, 6 * Interval.TotalSeconds));
}
