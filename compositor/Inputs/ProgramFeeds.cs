using Broadcast.Media;

namespace Broadcast.Compositor.Inputs;

/// <summary>
/// A program input the compositor does not open itself: a URL (rtmp, rtmps, srt, http(s) HLS) or a media-library file
/// (<c>file:NAME</c>), played once or looped. Whoever opens it (the server, through ingest's pull sessions, with their
/// outbound policy, probing and retries) publishes it as <see cref="MediaFrame"/>s into a hub the program host keeps for
/// its feeds, where a <see cref="ChannelInputDecoder"/> decodes it like a channel.
/// </summary>
/// <param name="AllowUntrustedCertificate">rtmps:// and https://: accept a certificate that does not validate.</param>
public sealed record FeedSource(string Url, bool Loop, bool AllowUntrustedCertificate = false);

/// <summary>Where a feed stands: <paramref name="State"/> as the pull API words it (starting, live, retrying, failed, stopped), why,
/// and the source as shown to admins (secrets masked).</summary>
public sealed record FeedStatus(string State, string? Reason, string Source);

/// <summary>Opens feeds: the port the program host asks; the server implements it with ingest's pull sessions.</summary>
public interface IProgramFeeds
{
    /// <summary>Starts publishing <paramref name="source"/> into <paramref name="hub"/> under <paramref name="streamName"/>,
    /// from now until the feed is disposed.</summary>
    IProgramFeed Open(string streamName, FeedSource source, LiveStreamRegistry hub);
}

/// <summary>One running feed; disposing it stops the source and ends its stream in the hub.</summary>
public interface IProgramFeed : IAsyncDisposable
{
    FeedStatus Status { get; }
}

/// <summary>A feed input this node cannot open (it runs no pulls); <see cref="Index"/> is its place in the inputs.</summary>
public sealed class ProgramFeedException(int index, string message) : Exception(message)
{
    public int Index { get; } = index;
}
