using System.IO.Pipelines;
using Broadcast.Media;
using Broadcast.Media.Flv;
using Broadcast.Refusals;
using Broadcast.WebRtc.Whep;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broadcast.WebRtc.Relay;

/// <summary>
/// The ingest side of real-time playback on origin-only nodes: <c>GET /internal/realtime/{channel}/feed.flv</c> streams a
/// live channel's hub as FLV (its latest keyframe first, then every frame as it comes) to an origin node's
/// <see cref="ChannelRelay"/>, which feeds that node's own Janus. One such response per origin node and channel, however
/// many viewers the origin serves: the stream reaches each node once. It needs the node credential
/// (<c>Playback:NodeToken</c>, <see cref="RelayCredential"/>); the response ends when the publish ends or starts again
/// (a new publish is a new request), so the origin's feed always starts at a keyframe. The hub's bounded queue per reader
/// means an origin that reads too slowly loses frames up to the next keyframe and never slows the publisher.
/// </summary>
public static partial class RealTimeFeedEndpoints
{
    public const string FlvContentType = "video/x-flv";

    /// <summary>The feed's path for <paramref name="channel"/>.</summary>
    public static string PathOf(string channel) => $"/internal/realtime/{Uri.EscapeDataString(channel)}/feed.flv";

    /// <summary>
    /// <c>GET /internal/realtime/{channel}/live</c>: 204 while the channel is live on this node, 404 otherwise. What an
    /// origin-only node asks before it gives an anonymous WHEP request anything of its own (<see cref="ChannelRelays.ProbeAsync"/>).
    /// </summary>
    public static string LiveProbePathOf(string channel) => $"/internal/realtime/{Uri.EscapeDataString(channel)}/live";

    public static IEndpointRouteBuilder MapRealTimeFeed(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var registry = endpoints.ServiceProvider.GetRequiredService<LiveStreamRegistry>();
        var credential = endpoints.ServiceProvider.GetRequiredService<RelayCredential>();
        var whep = endpoints.ServiceProvider.GetRequiredService<WhepService>();
        var logger = endpoints.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(RealTimeFeedEndpoints).FullName!);
        var feeds = endpoints.MapGroup("").WithRefusalBoundary();
        feeds.MapGet("/internal/realtime/{channel}/feed.flv", context => FeedAsync(context, registry, credential, whep, logger))
            .WithDisplayName("Real-time relay feed");
        feeds.MapGet(LivePath, context => LiveAsync(context, credential, whep)).WithDisplayName("Real-time channels live here");
        feeds.MapGet("/internal/realtime/{channel}/live", async context =>
        {
            if (!await AuthorizedAsync(context, credential).ConfigureAwait(false)) return;
            context.Response.Headers.CacheControl = "no-store";
            context.Response.StatusCode = registry.Find((string)context.Request.RouteValues["channel"]!) is { IsCompleted: false }
                ? StatusCodes.Status204NoContent : StatusCodes.Status404NotFound;
        }).WithDisplayName("Real-time channel live probe");
        return endpoints;
    }

    /// <summary>
    /// <c>GET /internal/realtime/live</c>: <c>{"channels":[…]}</c>, the live real-time channels this node holds warm, so
    /// origin nodes (<see cref="RelayPrewarm"/>) warm their relays too before any viewer asks there.
    /// </summary>
    public const string LivePath = "/internal/realtime/live";

    private static async Task LiveAsync(HttpContext context, RelayCredential credential, WhepService whep)
    {
        if (!await AuthorizedAsync(context, credential).ConfigureAwait(false)) return;
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsJsonAsync(new LiveRealTimeChannels(whep.WarmChannels), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The node token or a refusal already written: 403 on a node that has none, 401 without it.</summary>
    private static async Task<bool> AuthorizedAsync(HttpContext context, RelayCredential credential)
    {
        if (!credential.IsSet)
        {
            await WhepEndpoints.Problem(context, StatusCodes.Status403Forbidden,
                "Playback:NodeToken is not set on this node, so no origin node may relay its channels").ConfigureAwait(false);
            return false;
        }

        if (!credential.Accepts(context.Request.Headers.Authorization.ToString()))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await WhepEndpoints.Problem(context, StatusCodes.Status401Unauthorized,
                "send the node token (Playback:NodeToken) as a bearer token").ConfigureAwait(false);
            return false;
        }

        return true;
    }

    private static async Task FeedAsync(HttpContext context, LiveStreamRegistry registry, RelayCredential credential, WhepService whep,
        ILogger logger)
    {
        string channel = (string)context.Request.RouteValues["channel"]!;
        if (!await AuthorizedAsync(context, credential).ConfigureAwait(false)) return;

        if (registry.Find(channel) is not { IsCompleted: false } stream)
        {
            await WhepEndpoints.Problem(context, StatusCodes.Status404NotFound, $"channel {channel} is not live on this node").ConfigureAwait(false);
            return;
        }

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = FlvContentType;
        response.Headers.CacheControl = "no-store";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        string origin = context.Connection.RemoteIpAddress?.ToString() ?? "?";
        whep.FeedOpened();
        LogFeedStarted(logger, channel, origin);
        string ended = "the publish ended";
        try
        {
            ended = await PumpAsync(stream, response.BodyWriter, channel, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
            ended = "the origin node went away";
        }
        finally
        {
            whep.FeedClosed();
            LogFeedEnded(logger, channel, origin, ended);
        }
    }

    /// <summary>From the hub's latest keyframe on, every frame as FLV: returns why the feed ended.</summary>
    private static async Task<string> PumpAsync(LiveStream stream, PipeWriter writer, string channel, CancellationToken cancellationToken)
    {
        using var reader = stream.OpenReader($"relay-{channel}", capacity: 512);
        var muxer = new FlvMuxer();
        int? epoch = null;
        while (true)
        {
            var read = await reader.ReadOrGapAsync(cancellationToken).ConfigureAwait(false);
            if (read.IsGap) continue;
            if (read.Frame is not { } frame) return "the publish ended";
            try
            {
                if (epoch is null)
                {
                    // The origin's RTP ffmpeg starts on a picture: sound before the first keyframe is of no use to it.
                    if (!(frame.Kind == MediaKind.Video && frame.IsKeyframe)) continue;
                    epoch = frame.Epoch;
                    FlvMuxer.WriteHeader(writer, hasAudio: stream.Audio is not null, hasVideo: true);
                }
                else if (frame.Epoch != epoch)
                {
                    // The publisher came back: its timestamps start again, so the origin starts a new feed of its own.
                    return "the publisher reconnected";
                }

                muxer.Write(writer, frame);
            }
            finally
            {
                frame.Release();
            }

            var flushed = await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (flushed.IsCompleted || flushed.IsCanceled) return "the origin node went away";
        }
    }

    [LoggerMessage(EventId = 8220, Level = LogLevel.Information, Message = "Real-time relay {Channel}: feeding origin node {Origin}")]
    private static partial void LogFeedStarted(ILogger logger, string channel, string origin);

    [LoggerMessage(EventId = 8221, Level = LogLevel.Information, Message = "Real-time relay {Channel}: feed to origin node {Origin} ended: {Reason}")]
    private static partial void LogFeedEnded(ILogger logger, string channel, string origin, string reason);
}
