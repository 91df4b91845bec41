using Broadcast.Compositor.Inputs;
using Broadcast.Ingest.Pull;
using Broadcast.Media;
using Broadcast.Network.Outbound;

namespace Broadcast.Publish;

/// <summary>
/// The compositor's <see cref="IProgramFeeds"/> over ingest's <see cref="PullSession"/>: a program's URL or library input is
/// pulled exactly as a channel's pull source is (the outbound policy checked before every attempt, ffprobe first, H.264/AAC
/// copied, a dropped network source retried with backoff, a file at its own pace, once or looped), but into the program
/// host's feed hub rather than a channel, so it is no broadcast of its own.
/// </summary>
internal sealed class PullProgramFeeds(PullOptions options, OutboundGuard outbound, ILoggerFactory loggers, TimeProvider? time = null) : IProgramFeeds
{
    private readonly ILogger _logger = loggers.CreateLogger("Broadcast.Compositor.Feeds");

    public IProgramFeed Open(string streamName, FeedSource source, LiveStreamRegistry hub)
    {
        ArgumentNullException.ThrowIfNull(source);
        // A program takes a source with sound alone (a music bed); a channel's own pull needs a picture.
        var spec = new PullSpec(streamName, Tag: null, source.Url, source.Loop, Key: streamName, source.AllowUntrustedCertificate,
            AudioOnlyAllowed: true);
        var session = new PullSession(spec, hub, options, outbound, _logger, ProgramFeedAdmission.Instance, time);
        session.Start();
        return new Feed(session);
    }

    private sealed class Feed(PullSession session) : IProgramFeed
    {
        public FeedStatus Status
        {
            get
            {
                var status = session.Status;
                return new FeedStatus(status.State.ToWire(), status.Reason, status.Source);
            }
        }

        public ValueTask DisposeAsync() => session.DisposeAsync();
    }
}
