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

    /// <summary>Records a served <paramref name="key"/> (the store key: its first segment is the channel).</summary>
    public void Served(HttpContext context, string key, MediaObjectKind kind)
    {
        int firstSlash = key.IndexOf('/');
        if (firstSlash <= 0)
        {
            return;
        }

        var channel = key.AsSpan(0, firstSlash);
        ulong client = 0;
        bool counts = CountsViewers(key, firstSlash, kind);
        var data = new CmcdData();
        bool hasCmcd = Read(context.Request, ref data);
        if (counts)
        {
            client = Client(context);
            viewers.Touch(channel, client);
            // The viewer's CMCD of the bucket, for the share of viewers that stalled at least once over the show.
            var said = !data.HasData ? ViewerCmcd.None : data.BufferStarvation ? ViewerCmcd.Sent | ViewerCmcd.Stalled : ViewerCmcd.Sent;
            // The rung: the rendition a media playlist, init segment, segment or LL part names (a span of the key).
            var rendition = ViewerRungs.RenditionOf(key, firstSlash);
            if (data.SessionIdHash != 0) sessions.Touch(channel, data.SessionIdHash, data.SessionIdIdentity, Delivery(context.Request, kind), said, rendition);
            else sessions.Touch(channel, client, Delivery(context.Request, kind), said, rendition);
        }

        if (!hasCmcd && data.MalformedValues == 0) return;
        if (client == 0) client = Client(context);
        cmcd.Record(channel, data, client, kind == MediaObjectKind.Segment && data.ObjectType != CmcdObjectType.Init);
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
    private static bool CountsViewers(string key, int firstSlash, MediaObjectKind kind) => kind switch
    {
        MediaObjectKind.Segment => true,
        MediaObjectKind.DashManifest => true,
        MediaObjectKind.HlsPlaylist => key.IndexOf('/', firstSlash + 1) > 0,
        _ => false,
    };

    /// <summary>The manifest tells how a viewer plays; a segment (shared by HLS and DASH) leaves it as it was.</summary>
    private static ViewerDelivery Delivery(HttpRequest request, MediaObjectKind kind) => kind switch
    {
        MediaObjectKind.DashManifest => ViewerDelivery.Dash,
        MediaObjectKind.HlsPlaylist => request.QueryString.Value is { } q && q.Contains("_HLS_msn=", StringComparison.Ordinal)
            ? ViewerDelivery.LowLatencyHls
            : ViewerDelivery.Hls,
        _ => ViewerDelivery.Unknown,
    };

    private static ulong Client(HttpContext context)
    {
        string? userAgent = context.Request.Headers.UserAgent;
        return ViewerCounter.HashClient(context.Connection.RemoteIpAddress, userAgent);
    }

    /// <summary>Reads the CMCD query argument, else the CMCD headers; true when any known key was read.</summary>
    private static bool Read(HttpRequest request, ref CmcdData data)
    {
        var query = request.QueryString.Value;
        if (!string.IsNullOrEmpty(query) && query.Contains("CMCD=", StringComparison.Ordinal))
        {
            Span<char> decoded = stackalloc char[CmcdReader.MaxLength];
            var found = CmcdQuery.Decode(query, decoded, out int length);
            if (found == CmcdReadResult.Read) CmcdReader.Read(decoded[..length], ref data);
            else if (found != CmcdReadResult.Empty) data.MalformedValues++;
            return data.HasData;
        }

        foreach (string name in CmcdHeaders)
        {
            StringValues values = request.Headers[name];
            for (int i = 0; i < values.Count; i++)
            {
                if (CmcdReader.Read(values[i], ref data) is CmcdReadResult.TooLong or CmcdReadResult.Malformed) data.MalformedValues++;
            }
        }

        return data.HasData;
    }
}
