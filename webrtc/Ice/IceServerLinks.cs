using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Broadcast.WebRtc.Ice;

/// <summary>
/// ICE servers as WHIP and WHEP hand them out: one <c>Link: &lt;url&gt;; rel="ice-server"</c> header each, a TURN
/// server's credentials as its <c>username</c>, <c>credential</c> and <c>credential-type</c> parameters (RFC 9725 §4.6).
/// </summary>
public static class IceServerLinks
{
    public static void Append(HttpResponse response, IEnumerable<IceServer> servers)
    {
        ArgumentNullException.ThrowIfNull(response);
        foreach (var server in servers) response.Headers.Append(HeaderNames.Link, Format(server));
    }

    /// <summary>One server's Link value; quotes cannot occur in the parameters (RFC 8288 quoted-string).</summary>
    public static string Format(IceServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        var link = new StringBuilder().Append('<').Append(server.Urls).Append(">; rel=\"ice-server\"");
        if (!string.IsNullOrEmpty(server.Username))
        {
            link.Append("; username=\"").Append(Unquoted(server.Username)).Append('"')
                .Append("; credential=\"").Append(Unquoted(server.Credential ?? "")).Append('"')
                .Append("; credential-type=\"password\"");
        }

        return link.ToString();
    }

    private static string Unquoted(string value) => value.Replace("\"", "", StringComparison.Ordinal).Replace("\\", "", StringComparison.Ordinal);
}
