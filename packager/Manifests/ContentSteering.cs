using System.Buffers;
using System.Security;
using System.Text;
using System.Text.Json;

namespace Broadcast.Packager.Manifests;

/// <summary>
/// One delivery path of a presentation (a CDN or an edge fleet): HLS calls it a Pathway (RFC 8216bis 4.4.6.6, the
/// PATHWAY-ID attribute), DASH-IF Content Steering a service location (<c>BaseURL@serviceLocation</c>).
/// <paramref name="BaseUrl"/> is the scheme and host (and an optional path prefix) under which <c>/live/…</c> is served.
/// </summary>
public sealed record SteeringPathway(string Id, string BaseUrl)
{
    /// <summary>The base URL without a trailing '/', so that <c>BaseUrl + "/live/…"</c> is always one URL.</summary>
    public string BaseUrl { get; } = BaseUrl?.TrimEnd('/') ?? throw new ArgumentNullException(nameof(BaseUrl));
}

/// <summary>Which steering document a player asked for.</summary>
public enum SteeringFormat
{
    Hls,
    Dash,
}

/// <summary>
/// Content steering in the manifests and the steering manifest itself: HLS (RFC 8216bis 4.4.6.6 EXT-X-CONTENT-STEERING
/// and 7.2 "Steering Manifest") and DASH-IF Content Steering (ContentSteering element, BaseURL@serviceLocation, and its
/// JSON steering manifest). Pure text in, text out: the origin decides which pathways and when.
/// </summary>
public static class ContentSteering
{
    /// <summary>Longest pathway id accepted from configuration or a player's query.</summary>
    public const int MaxPathwayIdLength = 64;

    private static readonly SearchValues<char> PathwayIdChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_");

    /// <summary>
    /// A legal pathway id: RFC 8216bis 7.2 allows only the characters [a..z], [A..Z], [0..9], '.', '-' and '_'; the
    /// DASH-IF specification uses the same ids as service locations.
    /// </summary>
    public static bool IsValidPathwayId(ReadOnlySpan<char> id) =>
        id.Length is > 0 and <= MaxPathwayIdLength && !id.ContainsAnyExcept(PathwayIdChars);

    /// <summary>
    /// The master playlist with one copy of its variants per pathway, each copy's URIs absolute under that pathway's
    /// base and marked PATHWAY-ID, and EXT-X-CONTENT-STEERING naming <paramref name="serverUri"/> with the first pathway
    /// as the one to use until the first steering manifest arrives. Rendition groups that have URIs get one group per
    /// pathway (GROUP-ID suffixed with the pathway id, as the specification's example does: a variant must name the
    /// renditions of its own pathway); groups without URIs (closed captions) are shared. A player that does not
    /// implement steering sees the copies as redundant variants (RFC 8216bis 6.3.6) and plays the first.
    /// <paramref name="directory"/> is the master's folder on every pathway, e.g. <c>/live/news/</c>;
    /// <paramref name="query"/>, when given (<c>token=…</c>), is added to every URI so that a private stream's token
    /// reaches every pathway.
    /// </summary>
    public static string SteerHlsMaster(string master, string directory, IReadOnlyList<SteeringPathway> pathways, string serverUri,
        string? query = null)
    {
        ArgumentNullException.ThrowIfNull(master);
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(pathways);
        ArgumentNullException.ThrowIfNull(serverUri);
        if (pathways.Count == 0) return master;

        string[] lines = master.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        // Groups whose renditions are fetched (an EXT-X-MEDIA with URI): those are per pathway.
        var groupsWithUri = new HashSet<string>(StringComparer.Ordinal);
        foreach (string line in lines)
        {
            if (line.StartsWith("#EXT-X-MEDIA:", StringComparison.Ordinal) && AttributeValue(line, "URI") is not null
                && AttributeValue(line, "GROUP-ID") is { } group)
            {
                groupsWithUri.Add(group);
            }
        }

        var sb = new StringBuilder(master.Length * (pathways.Count + 1));
        // Tags that are not about variants or renditions (EXTM3U, VERSION, INDEPENDENT-SEGMENTS, SESSION-DATA …) once.
        var shared = new List<string>();
        foreach (string line in lines)
        {
            if (line.Length == 0) continue;
            if (IsVariantLine(line)) break;
            if (line.StartsWith("#EXT-X-MEDIA:", StringComparison.Ordinal)
                || line.StartsWith("#EXT-X-CONTENT-STEERING:", StringComparison.Ordinal)) continue;
            shared.Add(line);
        }

        foreach (string line in shared) sb.Append(line).Append('\n');
        sb.Append("#EXT-X-CONTENT-STEERING:SERVER-URI=\"").Append(serverUri).Append("\",PATHWAY-ID=\"").Append(pathways[0].Id).Append("\"\n");
        // Renditions without URI (CLOSED-CAPTIONS): one group for all pathways.
        foreach (string line in lines)
        {
            if (line.StartsWith("#EXT-X-MEDIA:", StringComparison.Ordinal) && AttributeValue(line, "URI") is null) sb.Append(line).Append('\n');
        }

        foreach (SteeringPathway pathway in pathways)
        {
            var folder = new Uri(pathway.BaseUrl + directory, UriKind.Absolute);
            for (int i = 0; i < lines.Length; i++)
            {
                string line = lines[i];
                if (line.StartsWith("#EXT-X-MEDIA:", StringComparison.Ordinal) && AttributeValue(line, "URI") is { } uri)
                {
                    string rewritten = ReplaceAttribute(line, "URI", Absolute(folder, uri, query));
                    rewritten = ReplaceAttribute(rewritten, "GROUP-ID", PathwayGroup(AttributeValue(line, "GROUP-ID")!, pathway.Id));
                    sb.Append(rewritten).Append('\n');
                }
                else if (line.StartsWith("#EXT-X-STREAM-INF:", StringComparison.Ordinal)
                    || line.StartsWith("#EXT-X-I-FRAME-STREAM-INF:", StringComparison.Ordinal))
                {
                    string rewritten = line;
                    foreach (string groupAttribute in (ReadOnlySpan<string>)["AUDIO", "VIDEO", "SUBTITLES"])
                    {
                        if (AttributeValue(line, groupAttribute) is { } group && groupsWithUri.Contains(group))
                            rewritten = ReplaceAttribute(rewritten, groupAttribute, PathwayGroup(group, pathway.Id));
                    }
                    if (line.StartsWith("#EXT-X-I-FRAME-STREAM-INF:", StringComparison.Ordinal) && AttributeValue(line, "URI") is { } iframeUri)
                        rewritten = ReplaceAttribute(rewritten, "URI", Absolute(folder, iframeUri, query));
                    sb.Append(rewritten).Append(",PATHWAY-ID=\"").Append(pathway.Id).Append("\"\n");
                    if (line.StartsWith("#EXT-X-STREAM-INF:", StringComparison.Ordinal))
                    {
                        // The variant's URI is the next line that is not a tag or blank (RFC 8216bis 4.4.6.2).
                        int next = i + 1;
                        while (next < lines.Length && (lines[next].Length == 0 || lines[next].StartsWith('#'))) next++;
                        if (next < lines.Length)
                        {
                            sb.Append(Absolute(folder, lines[next], query)).Append('\n');
                            i = next;
                        }
                    }
                }
            }
        }

        return sb.ToString();
    }

    /// <summary>
    /// The MPD with a ContentSteering element naming <paramref name="serverUri"/> (first pathway as
    /// <c>defaultServiceLocation</c>) and one MPD-level BaseURL per pathway with its <c>serviceLocation</c>, each the
    /// MPD's folder on that pathway, so the relative SegmentTemplate URLs resolve on whichever pathway is chosen
    /// (ISO/IEC 23009-1 5.6; DASH-IF Content Steering). A player without steering takes the first BaseURL.
    /// <c>queryBeforeStart</c> is false: the first pathway is used until the first steering answer. With
    /// <paramref name="manifestName"/> (a live MPD's file name), one Location per pathway too, where the MPD is refreshed.
    /// <paramref name="query"/>, when given (a private stream's <c>token=…</c>), goes into every SegmentTemplate URL and
    /// Location, so the token reaches every pathway.
    /// </summary>
    public static string SteerMpd(string mpd, string directory, IReadOnlyList<SteeringPathway> pathways, string serverUri,
        string? manifestName = null,
        string? query = null)
    {
        ArgumentNullException.ThrowIfNull(mpd);
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(pathways);
        ArgumentNullException.ThrowIfNull(serverUri);
        if (pathways.Count == 0) return mpd;
        int start = mpd.IndexOf("<MPD", StringComparison.Ordinal);
        int end = start < 0 ? -1 : mpd.IndexOf('>', start);
        if (end < 0) return mpd;
        if (!string.IsNullOrEmpty(query))
        {
            // A segment URL is resolved against a BaseURL, whose query it loses (RFC 3986 5.2): the query goes into the
            // templates themselves, so every segment and init request on every pathway carries it.
            mpd = WithQuery(WithQuery(mpd, " media=\"", query), " initialization=\"", query);
            end = mpd.IndexOf('>', start);
        }

        int insertAt = end + 1;
        if (insertAt < mpd.Length && mpd[insertAt] == '\n') insertAt++;

        var sb = new StringBuilder(mpd.Length + 256 * (pathways.Count + 1));
        sb.Append(mpd, 0, insertAt);
        if (mpd[insertAt - 1] != '\n') sb.Append('\n');
        sb.Append("  <ContentSteering defaultServiceLocation=\"").Append(pathways[0].Id)
          .Append("\" queryBeforeStart=\"false\">").Append(SecurityElement.Escape(serverUri)).Append("</ContentSteering>\n");
        foreach (SteeringPathway pathway in pathways)
        {
            sb.Append("  <BaseURL serviceLocation=\"").Append(pathway.Id).Append("\">")
              .Append(SecurityElement.Escape(pathway.BaseUrl + directory)).Append("</BaseURL>\n");
        }

        // A live MPD is fetched again and again: each refresh goes to the chosen pathway too (Location@serviceLocation),
        // not back to the host the player first opened, which may be the one that failed.
        if (manifestName is not null)
        {
            foreach (SteeringPathway pathway in pathways)
            {
                string location = pathway.BaseUrl + directory + manifestName + (string.IsNullOrEmpty(query) ? "" : "?" + query);
                sb.Append("  <Location serviceLocation=\"").Append(pathway.Id).Append("\">")
                  .Append(SecurityElement.Escape(location)).Append("</Location>\n");
            }
        }

        sb.Append(mpd, insertAt, mpd.Length - insertAt);
        return sb.ToString();
    }

    /// <summary>
    /// A steering manifest: HLS (RFC 8216bis 7.2: VERSION, TTL, RELOAD-URI, PATHWAY-PRIORITY) or DASH-IF
    /// (the same fields, the priority also as SERVICE-LOCATION-PRIORITY). <paramref name="ttlSeconds"/> is how long the player
    /// waits before it asks again.
    /// </summary>
    public static byte[] WriteSteeringManifest(SteeringFormat format, int ttlSeconds, string? reloadUri, IReadOnlyList<string> priority)
    {
        ArgumentNullException.ThrowIfNull(priority);
        var buffer = new ArrayBufferWriter<byte>(128 + 32 * priority.Count);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("VERSION", 1);
            json.WriteNumber("TTL", ttlSeconds);
            if (reloadUri is not null) json.WriteString("RELOAD-URI", reloadUri);
            json.WriteStartArray("PATHWAY-PRIORITY");
            foreach (string id in priority) json.WriteStringValue(id);
            json.WriteEndArray();
            if (format == SteeringFormat.Dash)
            {
                // The DASH-IF community-review draft named the list SERVICE-LOCATION-PRIORITY (Video.js reads that name);
                // dash.js, the reference player, and Shaka read PATHWAY-PRIORITY, as HLS does. Both, so every player finds it.
                json.WriteStartArray("SERVICE-LOCATION-PRIORITY");
                foreach (string id in priority) json.WriteStringValue(id);
                json.WriteEndArray();
            }
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Every <paramref name="attribute"/>"…" value in the MPD with <paramref name="query"/> added (XML-escaped).</summary>
    private static string WithQuery(string mpd, string attribute, string query)
    {
        var sb = new StringBuilder(mpd.Length + 64);
        int from = 0;
        while (true)
        {
            int at = mpd.IndexOf(attribute, from, StringComparison.Ordinal);
            int close = at < 0 ? -1 : mpd.IndexOf('"', at + attribute.Length);
            if (close < 0) break;
            string value = mpd[(at + attribute.Length)..close];
            sb.Append(mpd, from, close - from).Append(value.Contains('?', StringComparison.Ordinal) ? "&amp;" : "?")
                .Append(SecurityElement.Escape(query));
            from = close;
        }

        sb.Append(mpd, from, mpd.Length - from);
        return sb.ToString();
    }

    private static bool IsVariantLine(string line) =>
        line.StartsWith("#EXT-X-STREAM-INF:", StringComparison.Ordinal) || line.StartsWith("#EXT-X-I-FRAME-STREAM-INF:", StringComparison.Ordinal);

    private static string PathwayGroup(string group, string pathwayId) => group + "-" + pathwayId;

    private static string Absolute(Uri folder, string uri, string? query)
    {
        // A URI that does not resolve (a damaged object) is passed on as it is: the player reports it, the origin does not fail.
        if (!Uri.TryCreate(folder, uri, out Uri? resolved)) return uri;
        string absolute = resolved.AbsoluteUri;
        if (string.IsNullOrEmpty(query)) return absolute;
        return absolute + (absolute.Contains('?', StringComparison.Ordinal) ? "&" : "?") + query;
    }

    /// <summary>A quoted-string attribute's value in a tag's attribute list, or null.</summary>
    public static string? AttributeValue(string line, string name)
    {
        int at = FindAttribute(line, name);
        if (at < 0) return null;
        int valueStart = at + name.Length + 1;
        if (valueStart < line.Length && line[valueStart] == '"')
        {
            int close = line.IndexOf('"', valueStart + 1);
            return close < 0 ? null : line[(valueStart + 1)..close];
        }

        int comma = line.IndexOf(',', valueStart);
        return comma < 0 ? line[valueStart..] : line[valueStart..comma];
    }

    private static string ReplaceAttribute(string line, string name, string value)
    {
        int at = FindAttribute(line, name);
        if (at < 0) return line;
        int valueStart = at + name.Length + 1;
        int valueEnd;
        if (valueStart < line.Length && line[valueStart] == '"')
        {
            int close = line.IndexOf('"', valueStart + 1);
            valueEnd = close < 0 ? line.Length : close + 1;
        }
        else
        {
            int comma = line.IndexOf(',', valueStart);
            valueEnd = comma < 0 ? line.Length : comma;
        }

        return string.Concat(line[..valueStart], "\"", value, "\"", line[valueEnd..]);
    }

    /// <summary>Where <c>NAME=</c> begins as an attribute (after ':' or ','), outside quoted strings.</summary>
    private static int FindAttribute(string line, string name)
    {
        int colon = line.IndexOf(':');
        if (colon < 0) return -1;
        bool quoted = false;
        for (int i = colon; i < line.Length; i++)
        {
            char c = line[i];
            if (c == '"') quoted = !quoted;
            else if (!quoted && (c == ':' || c == ',')
                && string.CompareOrdinal(line, i + 1, name, 0, name.Length) == 0
                && i + 1 + name.Length < line.Length && line[i + 1 + name.Length] == '=')
            {
                return i + 1;
            }
        }

        return -1;
    }
}
