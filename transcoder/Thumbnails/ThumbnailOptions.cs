namespace Broadcast.Transcoder.Thumbnails;

/// <summary>
/// <c>Thumbnails:*</c>: a JPEG of each live channel's picture, refreshed every <see cref="Interval"/>, for channel lists,
/// the watch page's <c>og:image</c> and CDN-cached previews.
/// </summary>
public sealed class ThumbnailOptions
{
    /// <summary><c>Thumbnails:Enabled</c> (default true).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary><c>Thumbnails:IntervalSeconds</c> (default 10, 2–300): how often a live channel's thumbnail is renewed.</summary>
    public int IntervalSeconds { get; set; } = 10;

    /// <summary><c>Thumbnails:Height</c> (default 360, 90–1080): the JPEG's height; the width keeps the picture's aspect.</summary>
    public int Height { get; set; } = 360;

    public string FfmpegPath { get; set; } = "ffmpeg";

    public TimeSpan Interval => TimeSpan.FromSeconds(Math.Clamp(IntervalSeconds, 2, 300));
}
