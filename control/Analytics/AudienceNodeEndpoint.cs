using System.Text.Json.Serialization;
using Broadcast.Control.Api;
using Broadcast.Control.Channels;
using Broadcast.Control.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broadcast.Control.Analytics;

/// <summary>One origin-only node's viewers of the bucket starting at <see cref="Bucket"/> (Unix seconds), per live broadcast.</summary>
public sealed record AudienceNodePost(string? Node, long Bucket, IReadOnlyList<AudienceNodeBroadcast>? Broadcasts);

/// <summary>
/// One broadcast's viewers on the node in the bucket (<see cref="LiveAudienceSample"/> on the wire), what its CMCD players
/// said there (<see cref="Quality"/>, absent when none did), and the media requests the node answered 404 and 503
/// (<see cref="NotFound"/>, <see cref="Unavailable"/>: absent reads as none, so a node that predates them still posts), and
/// the rung names its viewers name by index (<see cref="Rungs"/>: at most <see cref="AudienceRungs.MaxValues"/>, each once;
/// absent when no viewer's rung is known).
/// </summary>
public sealed record AudienceNodeBroadcast(string? Channel, string? BroadcastId, int Viewers, int Hls, int LowLatencyHls, int Dash, int Whep,
    long Uncounted, IReadOnlyList<AudienceNodeViewer>? Sessions, PlaybackQualityCounts? Quality = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] long NotFound = 0,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] long Unavailable = 0,
    IReadOnlyList<string?>? Rungs = null);

/// <summary>
/// One viewer: its unsalted session key (the same on every node; salted by the control node), first and last bucket, delivery,
/// whether in the bucket it sent CMCD and reported a buffer starvation (<c>cmcd</c>, <c>stalled</c>: sent only when true,
/// so absent reads as false and a node that predates them still posts), and its rung in the bucket (<c>rung</c>: an index
/// into its broadcast's <c>rungs</c>; absent when not known).
/// </summary>
public sealed record AudienceNodeViewer(ulong Key, long First, long Last, string? Delivery,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool Cmcd = false,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool Stalled = false,
    int? Rung = null);

/// <summary>
/// <c>POST /api/playback/audience</c>: an origin-only node hands over the viewers it served in one ended bucket
/// (<see cref="AudienceForwarder"/>), for cluster nodes only: the playback node token (<c>Playback:NodeToken</c>) and nothing
/// else, as the node's other calls to the control node. Written through the sampler's one door
/// (<see cref="AudienceSampler.WriteAsync"/>), so a viewer seen on two nodes in one bucket counts once. A body is at most
/// <see cref="MaxRequestBytes"/>, names at most <see cref="MaxBroadcastsPerPost"/> broadcasts and
/// <see cref="AudienceSampler.MaxSessionsPerFlush"/> viewers in all, for a bucket of the last <see cref="MaxAge"/>; a broadcast's
/// CMCD <c>quality</c>, when present, passes <see cref="PlaybackQualityCounts.Problem"/> (a 400 names the field at fault); a
/// viewer's optional <c>cmcd</c> and <c>stalled</c> are JSON booleans (any other value: a 400 naming the field); a broadcast's
/// optional <c>rungs</c> are at most <see cref="AudienceRungs.MaxValues"/> distinct rung names (<see cref="AudienceRungs.IsValidName"/>)
/// and a viewer's optional <c>rung</c> an index into them (else a 400 naming the field).
/// </summary>
public static class AudienceNodeEndpoint
{
    public const string Path = "/api/playback/audience";

    /// <summary>A full post: 50,000 viewers of about 90 bytes of JSON each (at most about 125 with every optional field, a
    /// rung index included), with room to spare.</summary>
    public const long MaxRequestBytes = 8 * 1024 * 1024;

    public const int MaxBroadcastsPerPost = 1000;

    /// <summary>How old a bucket may be: a node gives up on one long before (<see cref="AudienceForwarder.DeliveryBound"/>).</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromHours(1);

    private const int MaxNodeLength = 100;

    private static readonly string[] Deliveries = ["hls", "llhls", "dash", "whep", "unknown"];

    public static IEndpointRouteBuilder MapAudienceNodeAccess(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapPost(Path, PostAsync)
            .RequireAuthorization(policy => policy.AddAuthenticationSchemes(ControlAuth.PlaybackNodeScheme).RequireAuthenticatedUser()
                .RequireRole(ControlAuth.PlaybackNodeRole))
            .WithTags("playback").Accepts<AudienceNodePost>("application/json").Produces(StatusCodes.Status204NoContent)
            .ProducesValidationProblem();
        return endpoints;
    }

    private static async Task<IResult> PostAsync(HttpContext context, AudienceSampler sampler, TimeProvider time, CancellationToken cancellationToken)
    {
        var (post, error) = await RequestBodies.ReadAsync(context, ControlJsonContext.Default.AudienceNodePost, MaxRequestBytes, cancellationToken)
            .ConfigureAwait(false);
        if (error is not null) return error;
        if (post!.Node is not { Length: > 0 and <= MaxNodeLength } node || !node.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':'))
            return RequestBodies.Invalid("node", $"The node's name: 1 to {MaxNodeLength} letters, digits, '-', '_', '.' or ':'.");
        if (node == sampler.NodeId)
            return RequestBodies.Invalid("node", "This is the control node's own name: give the origin node an Ingest:NodeId of its own.");
        long now = time.GetUtcNow().ToUnixTimeSeconds();
        if (post.Bucket % AudienceReport.Bucket != 0 || post.Bucket > now || post.Bucket < now - (long)MaxAge.TotalSeconds)
            return RequestBodies.Invalid("bucket", $"The start of a 10 s bucket (Unix seconds) of the last {MaxAge.TotalMinutes} minutes.");
        if (post.Broadcasts is not { } broadcasts || broadcasts.Count > MaxBroadcastsPerPost)
            return RequestBodies.Invalid("broadcasts", $"At most {MaxBroadcastsPerPost} broadcasts.");
        var samples = new List<LiveAudienceSample>(broadcasts.Count);
        int sessions = 0;
        for (int i = 0; i < broadcasts.Count; i++)
        {
            string field = $"broadcasts[{i}]";
            if (broadcasts[i] is not { } b) return RequestBodies.Invalid(field, "A broadcast is an object.");
            if (!Slugs.IsValid(b.Channel)) return RequestBodies.Invalid(field + ".channel", "A channel slug is required.");
            if (b.BroadcastId is not { } id || !BroadcastIds.IsValid(id))
                return RequestBodies.Invalid(field + ".broadcastId", "Not a broadcast id.");
            if (b.Sessions is not { } viewers) return RequestBodies.Invalid(field + ".sessions", "The viewers are required.");
            sessions += viewers.Count;
            if (sessions > AudienceSampler.MaxSessionsPerFlush)
                return RequestBodies.Invalid("broadcasts", $"At most {AudienceSampler.MaxSessionsPerFlush} viewers in one post.");
            if (b.Viewers < 0 || b.Hls < 0 || b.LowLatencyHls < 0 || b.Dash < 0 || b.Whep < 0 || b.Uncounted < 0)
                return RequestBodies.Invalid(field, "Counts are never negative.");
            if (b.Quality?.Problem() is { } problem) return RequestBodies.Invalid($"{field}.quality.{problem.Field}", problem.Message);
            if (b.NotFound is < 0 or > PlaybackQualityCounts.MaxCount)
                return RequestBodies.Invalid(field + ".notFound", $"A count from 0 to {PlaybackQualityCounts.MaxCount}.");
            if (b.Unavailable is < 0 or > PlaybackQualityCounts.MaxCount)
                return RequestBodies.Invalid(field + ".unavailable", $"A count from 0 to {PlaybackQualityCounts.MaxCount}.");
            if (RungsProblem(b.Rungs) is { } rungsProblem) return RequestBodies.Invalid(field + ".rungs", rungsProblem);
            var live = new LiveViewer[viewers.Count];
            for (int v = 0; v < viewers.Count; v++)
            {
                if (viewers[v] is not { } viewer || viewer.First < 0 || viewer.First > viewer.Last || viewer.Last > post.Bucket
                    || viewer.Delivery is null || Array.IndexOf(Deliveries, viewer.Delivery) < 0)
                    return RequestBodies.Invalid($"{field}.sessions[{v}]", "A viewer has a key, first <= last <= the bucket, and a delivery (hls, llhls, dash, whep, unknown).");
                if (viewer.Rung is { } rung && (rung < 0 || rung >= (b.Rungs?.Count ?? 0)))
                    return RequestBodies.Invalid($"{field}.sessions[{v}].rung", "A rung is an index into the broadcast's rungs.");
                live[v] = new LiveViewer(viewer.Key, viewer.First, viewer.Last, viewer.Delivery, viewer.Cmcd, viewer.Stalled,
                    viewer.Rung is { } index ? b.Rungs![index] : null);
            }

            // A node's counts never exceed the viewers it names: what the store keeps is what it can tie to them.
            int count = Math.Min(b.Viewers, live.Length);
            samples.Add(new LiveAudienceSample(b.Channel!, id, count, Math.Min(b.Hls, count), Math.Min(b.LowLatencyHls, count),
                Math.Min(b.Dash, count), live, b.Uncounted, Math.Min(b.Whep, count), b.Quality, b.NotFound, b.Unavailable));
        }

        await sampler.WriteAsync(post.Bucket, node, samples, cancellationToken).ConfigureAwait(false);
        context.Response.Headers.CacheControl = "no-store";
        return Results.NoContent();
    }

    /// <summary>Why a broadcast's rung names are refused, or null: the origin's bound (its names and "other"), each a store name, once.</summary>
    private static string? RungsProblem(IReadOnlyList<string?>? rungs)
    {
        if (rungs is null) return null;
        const string Rule = "At most {0} distinct rung names, each 1 to {1} letters, digits, '.', '_' or '-', not starting with a dot.";
        if (rungs.Count > AudienceRungs.MaxValues || !rungs.All(AudienceRungs.IsValidName) || rungs.Distinct(StringComparer.Ordinal).Count() != rungs.Count)
            return string.Format(System.Globalization.CultureInfo.InvariantCulture, Rule, AudienceRungs.MaxValues, AudienceRungs.MaxNameLength);
        return null;
    }
}
