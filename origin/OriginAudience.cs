using System.Net;
using Broadcast.Origin.Cmcd;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Broadcast.Origin;

/// <summary>
/// Who watches, from the requests the origin serves: media playlists, MPDs and segments count the channel's viewers, and
/// the Common Media Client Data (CTA-5004) a player sends with any request of the channel goes to its live playback
/// quality (<see cref="CmcdAudience"/>), and each viewer's session to the audience kept per broadcast
/// (<see cref="ViewerSessions"/>). One call per served object; nothing allocated for a request without CMCD.
/// </summary>
public sealed class OriginAudience(ViewerCounter viewers, CmcdAudience cmcd, ViewerSessions sessions)
{
    /// <summary>CTA-5004 §2.1: the header transmission mode's four headers, each a dictionary of its own keys.</summary>
    private static readonly string[] CmcdHeaders = ["CMCD-Request", "CMCD-Object", "CMCD-Status", "CMCD-Session"];

    /// <summary>
    /// The header a logging CDN edge sets on the requests it forwards (infra/nginx-edge.conf): its own access log, sent to
    /// a node over syslog (<see cref="EdgeLog.EdgeAccessLogReceiver"/>), tells the audience of every request it answered,
    /// cache hits included, so the request it forwarded is not counted here again.
    /// </summary>
    public const string EdgeLoggedHeader = "X-Broadcast-Edge-Logged";

    /// <summary>Records a served <paramref name="key"/> (the store key: its first segment is the channel).</summary>
    public void Served(HttpContext context, string key, MediaObjectKind kind)
    {
        var request = context.Request;
        if (request.Headers.ContainsKey(EdgeLoggedHeader)) return;
        var data = new CmcdData();
        bool hasCmcd = Read(request, ref data);
        string? userAgent = request.Headers.UserAgent;
        Record(key, kind, request.QueryString.Value, ViewerCounter.HashClient(context.Connection.RemoteIpAddress, userAgent), ref data, hasCmcd);
    }

    /// <summary>
    /// Records an object a CDN edge answered, read from its access log: the viewer's address (as text) and User-Agent as the
    /// edge saw them, the request's query (the LL-HLS directives and a CMCD argument), else the four CMCD headers it logged.
    /// Allocates nothing for an IPv4 viewer.
    /// </summary>
    public void ServedByEdge(ReadOnlySpan<char> key, ReadOnlySpan<char> query, ReadOnlySpan<char> address, ReadOnlySpan<char> userAgent,
        ReadOnlySpan<char> cmcdRequest, ReadOnlySpan<char> cmcdObject, ReadOnlySpan<char> cmcdStatus, ReadOnlySpan<char> cmcdSession)
    {
        var data = new CmcdData();
        bool hasCmcd;
        if (query.Contains("CMCD=", StringComparison.Ordinal)) hasCmcd = ReadQuery(query, ref data);
        else
        {
            ReadHeader(cmcdRequest, ref data);
            ReadHeader(cmcdObject, ref data);
            ReadHeader(cmcdStatus, ref data);
            ReadHeader(cmcdSession, ref data);
            hasCmcd = data.HasData;
        }

        Record(key, MediaObjectKinds.Classify(key), query, ViewerCounter.HashClient(address, userAgent), ref data, hasCmcd);
    }

    /// <summary>A request the edge failed itself (502/504: no origin answered), which no origin saw.</summary>
    public void FailedAtEdge(ReadOnlySpan<char> key)
    {
        int firstSlash = key.IndexOf('/');
        if (firstSlash <= 0 || !CountsViewers(key, firstSlash, MediaObjectKinds.Classify(key))) return;
        sessions.Failed(key[..firstSlash], RequestFailure.Unavailable);
    }

    /// <param name="client">The viewer's address and User-Agent, hashed (<see cref="ViewerCounter.HashClient(IPAddress?, ReadOnlySpan{char})"/>).</param>
    private void Record(ReadOnlySpan<char> key, MediaObjectKind kind, ReadOnlySpan<char> query, ulong client, ref CmcdData data, bool hasCmcd)
    {
        int firstSlash = key.IndexOf('/');
        if (firstSlash <= 0)
        {
            return;
        }

        var channel = key[..firstSlash];
        bool stalled = (hasCmcd || data.MalformedValues > 0)
            && cmcd.Record(channel, data, client, kind == MediaObjectKind.Segment && data.ObjectType != CmcdObjectType.Init);
        if (CountsViewers(key, firstSlash, kind))
        {
            viewers.Touch(channel, client);
            // The viewer's CMCD of the bucket, for the share of viewers that stalled at least once over the show: what the
            // CMCD session's rule reads as a stall (a player recovering, 'su', where it sends no 'bs'), and any 'bs' itself
            // (also from a session the full table did not keep, for which that rule has no state).
            var said = !data.HasData ? ViewerCmcd.None
                : data.BufferStarvation || stalled ? ViewerCmcd.Sent | ViewerCmcd.Stalled : ViewerCmcd.Sent;
            // The rung: the rendition a media playlist, init segment, segment or LL part names (a span of the key).
            var rendition = ViewerRungs.RenditionOf(key, firstSlash);
            if (data.SessionIdHash != 0) sessions.Touch(channel, data.SessionIdHash, data.SessionIdIdentity, Delivery(query, kind), said, rendition);
            else sessions.Touch(channel, client, Delivery(query, kind), said, rendition);
        }
    }

    /// <summary>
    /// Records a request for <paramref name="key"/> the origin failed: a media playlist, MPD or segment (the kinds that
    /// count viewers) of a channel this node served counts toward the audience's failed requests.
    /// </summary>
    public void Failed(string key, RequestFailure failure)
    {
        int firstSlash = key.IndexOf('/');
        if (firstSlash <= 0 || !CountsViewers(key, firstSlash, MediaObjectKinds.Classify(key))) return;
        sessions.Failed(key.AsSpan(0, firstSlash), failure);
    }

    /// <summary>Only media playlists, MPDs and segments count: a master playlist is fetched once, not while watching.</summary>
    private static bool CountsViewers(ReadOnlySpan<char> key, int firstSlash, MediaObjectKind kind) => kind switch
    {
        MediaObjectKind.Segment => true,
        MediaObjectKind.DashManifest => true,
        MediaObjectKind.HlsPlaylist => key[(firstSlash + 1)..].Contains('/'),
        _ => false,
    };

    /// <summary>The manifest tells how a viewer plays; a segment (shared by HLS and DASH) leaves it as it was.</summary>
    private static ViewerDelivery Delivery(ReadOnlySpan<char> query, MediaObjectKind kind) => kind switch
    {
        MediaObjectKind.DashManifest => ViewerDelivery.Dash,
        MediaObjectKind.HlsPlaylist => query.Contains("_HLS_msn=", StringComparison.Ordinal)
            ? ViewerDelivery.LowLatencyHls
            : ViewerDelivery.Hls,
        _ => ViewerDelivery.Unknown,
    };

    /// <summary>Reads the CMCD query argument, else the CMCD headers; true when any known key was read.</summary>
    private static bool Read(HttpRequest request, ref CmcdData data)
    {
        var query = request.QueryString.Value;
        if (!string.IsNullOrEmpty(query) && query.Contains("CMCD=", StringComparison.Ordinal)) return ReadQuery(query, ref data);

        foreach (string name in CmcdHeaders)
        {
            StringValues values = request.Headers[name];
            for (int i = 0; i < values.Count; i++)
            {
                ReadHeader(values[i], ref data);
            }
        }

        return data.HasData;
    }

    private static bool ReadQuery(ReadOnlySpan<char> query, ref CmcdData data)
    {
        Span<char> decoded = stackalloc char[CmcdReader.MaxLength];
        var found = CmcdQuery.Decode(query, decoded, out int length);
        if (found == CmcdReadResult.Read) CmcdReader.Read(decoded[..length], ref data);
        else if (found != CmcdReadResult.Empty) data.MalformedValues++;
        return data.HasData;
    }

    private static void ReadHeader(ReadOnlySpan<char> value, ref CmcdData data)
    {
        if (value.IsEmpty) return;
        if (CmcdReader.Read(value, ref data) is CmcdReadResult.TooLong or CmcdReadResult.Malformed) data.MalformedValues++;
    }
}
