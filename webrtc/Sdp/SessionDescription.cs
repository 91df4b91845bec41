using System.Globalization;

namespace Broadcast.WebRtc.Sdp;

/// <summary>One <c>a=</c> line: its name and the value after the first colon (null for a flag such as <c>a=recvonly</c>).</summary>
public sealed record SdpAttribute(string Name, string? Value);

/// <summary>An <c>a=rtpmap</c> (RFC 8866 §6.6): payload type → encoding name, clock rate and (audio) channels.</summary>
public sealed record RtpMap(int PayloadType, string Encoding, int ClockRate, int Channels);

/// <summary>One media section: its <c>m=</c> line (RFC 8866 §5.14) and what follows until the next one.</summary>
public sealed class MediaDescription
{
    public required string Media { get; init; }

    public required int Port { get; init; }

    public required string Protocol { get; init; }

    public required IReadOnlyList<string> Formats { get; init; }

    /// <summary>The section's own <c>c=</c> address, else null (the session's applies).</summary>
    public string? ConnectionAddress { get; internal set; }

    public List<SdpAttribute> Attributes { get; } = [];

    /// <summary>sendrecv (the default), sendonly, recvonly or inactive, as the section says (RFC 8866 §6.7).</summary>
    public string Direction
        => Attributes.LastOrDefault(a => a.Value is null && a.Name is "sendrecv" or "sendonly" or "recvonly" or "inactive")?.Name ?? "sendrecv";

    public string? Mid => Attributes.FirstOrDefault(a => a.Name == "mid")?.Value;

    /// <summary>Every <c>a=rtpmap</c> of a payload type listed on the <c>m=</c> line (the first one of each).</summary>
    public IEnumerable<RtpMap> RtpMaps() => Index().Maps;

    /// <summary>The <c>a=fmtp</c> parameters of <paramref name="payloadType"/> as written (after the payload type), or "".</summary>
    public string FormatParameters(int payloadType) => Index().Parameters.GetValueOrDefault(payloadType, "");

    /// <summary>The <c>a=rtcp-fb</c> values of <paramref name="payloadType"/> (after the payload type).</summary>
    public IEnumerable<string> FeedbackOf(int payloadType) => Index().Feedback.TryGetValue(payloadType, out var values) ? values : [];

    // The section's payload types looked up once, in one pass over its attributes: a hostile offer of thousands of
    // a=rtpmap and a=fmtp lines must not cost a lookup of each against all the others on every anonymous WHEP POST.
    private AttributeIndex? _index;

    private sealed record AttributeIndex(int AttributeCount, List<RtpMap> Maps, Dictionary<int, string> Parameters,
        Dictionary<int, List<string>> Feedback);

    private AttributeIndex Index()
    {
        if (_index is { } known && known.AttributeCount == Attributes.Count) return known;
        var listed = new HashSet<int>();
        foreach (string format in Formats)
            if (int.TryParse(format, NumberStyles.None, CultureInfo.InvariantCulture, out int pt) && pt <= 127) listed.Add(pt);
        var index = new AttributeIndex(Attributes.Count, [], [], []);
        var mapped = new HashSet<int>();
        foreach (var attribute in Attributes)
        {
            if (attribute.Value is not { } value) continue;
            switch (attribute.Name)
            {
                case "rtpmap":
                    if (TryParseRtpMap(value, out var map) && listed.Contains(map.PayloadType) && mapped.Add(map.PayloadType)) index.Maps.Add(map);
                    break;
                case "fmtp":
                    if (TryPayloadTypeOf(value, out int fmtpType, out string parameters)) index.Parameters.TryAdd(fmtpType, parameters);
                    break;
                case "rtcp-fb":
                    if (TryPayloadTypeOf(value, out int feedbackType, out string feedback))
                    {
                        if (!index.Feedback.TryGetValue(feedbackType, out var values)) index.Feedback[feedbackType] = values = [];
                        values.Add(feedback);
                    }
                    break;
            }
        }

        _index = index;
        return index;
    }

    /// <summary>"&lt;payload type&gt; &lt;rest&gt;" (a=fmtp, a=rtcp-fb: RFC 8866 §6.15, RFC 4585 §4.2): the type and the rest, trimmed.</summary>
    private static bool TryPayloadTypeOf(string value, out int payloadType, out string rest)
    {
        rest = "";
        int space = value.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0 || !int.TryParse(value.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out payloadType)
            || payloadType > 127)
        {
            payloadType = -1;
            return false;
        }

        rest = value[(space + 1)..].Trim();
        return true;
    }

    private static bool TryParseRtpMap(string value, out RtpMap map)
    {
        map = null!;
        // "<payload type> <encoding name>/<clock rate>[/<encoding parameters>]"
        int space = value.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0 || !int.TryParse(value.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out int pt)
            || pt > 127) return false;
        string[] parts = value[(space + 1)..].Trim().Split('/');
        if (parts.Length is < 2 or > 3 || parts[0].Length == 0) return false;
        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int clock) || clock <= 0) return false;
        int channels = 1;
        if (parts.Length == 3 && (!int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture,
            out channels) || channels is <= 0 or > 255)) return false;
        map = new RtpMap(pt, parts[0], clock, channels);
        return true;
    }
}

/// <summary>
/// An SDP (RFC 8866) read as far as relaying media needs: the session's connection address and the media sections with
/// their attributes. Anything else is kept out; what is malformed is refused with the line that broke it. Bounded: a
/// description may hold at most <see cref="MaxLines"/> lines and <see cref="MaxMediaSections"/> media sections.
/// </summary>
public sealed class SessionDescription
{
    public const int MaxLines = 4000;
    public const int MaxMediaSections = 32;

    /// <summary>Formats one <c>m=</c> line may list: RTP payload types are 0–127, so more is no offer a browser makes.</summary>
    public const int MaxFormats = 128;

    private SessionDescription()
    {
    }

    public string? ConnectionAddress { get; private set; }

    public List<MediaDescription> Media { get; } = [];

    public static bool TryParse(string text, out SessionDescription description, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        description = new SessionDescription();
        error = "";
        string[] lines = text.Split('\n');
        if (lines.Length > MaxLines + 1)
        {
            error = $"more than {MaxLines} lines";
            return false;
        }

        int number = 0;
        MediaDescription? current = null;
        foreach (string raw in lines)
        {
            number++;
            string line = raw.EndsWith('\r') ? raw[..^1] : raw;
            if (line.Length == 0) continue; // a trailing line break, or a blank line some writers leave
            if (line.Length < 2 || line[1] != '=' || line[0] is < 'a' or > 'z')
            {
                error = $"line {number} is not <type>=<value>";
                return false;
            }

            if (number == 1 && line != "v=0")
            {
                error = "the first line is not v=0";
                return false;
            }

            string value = line[2..];
            switch (line[0])
            {
                case 'm':
                    if (description.Media.Count == MaxMediaSections)
                    {
                        error = $"more than {MaxMediaSections} media sections";
                        return false;
                    }

                    if (!TryParseMediaLine(value, out current, out string why))
                    {
                        error = $"line {number}: {why}";
                        return false;
                    }

                    description.Media.Add(current);
                    break;
                case 'c':
                    // "IN IP4 <address>" (RFC 8866 §5.7)
                    string[] c = value.Split(' ');
                    if (c.Length != 3 || c[0] != "IN" || c[1] is not ("IP4" or "IP6") || c[2].Length == 0)
                    {
                        error = $"line {number}: a malformed c= line";
                        return false;
                    }

                    if (current is null) description.ConnectionAddress = c[2];
                    else current.ConnectionAddress = c[2];
                    break;
                case 'a':
                    if (current is null) break; // session-level attributes (ICE, fingerprint, groups) are Janus's business
                    int colon = value.IndexOf(':', StringComparison.Ordinal);
                    current.Attributes.Add(colon < 0 ? new SdpAttribute(value, null) : new SdpAttribute(value[..colon], value[(colon + 1)..]));
                    break;
            }
        }

        if (number == 0 || lines[0].TrimEnd('\r') != "v=0")
        {
            error = "the first line is not v=0";
            return false;
        }

        if (description.Media.Count == 0)
        {
            error = "no media section (m= line)";
            return false;
        }

        return true;
    }

    private static bool TryParseMediaLine(string value, out MediaDescription media, out string error)
    {
        media = null!;
        error = "a malformed m= line";
        // "<media> <port>[/<number of ports>] <proto> <fmt> ..." (RFC 8866 §5.14)
        string[] parts = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 4 || parts[0].Length == 0) return false;
        if (parts.Length - 3 > MaxFormats)
        {
            error = $"more than {MaxFormats} formats on an m= line";
            return false;
        }

        string portText = parts[1].Split('/')[0];
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535) return false;
        media = new MediaDescription { Media = parts[0], Port = port, Protocol = parts[2], Formats = parts[3..] };
        return true;
    }
}
