using System.Globalization;
using System.Text.RegularExpressions;

namespace Broadcast.TestSupport;

/// <summary>One sample of a /metrics answer (Prometheus text format), for tests that read what the server reports.</summary>
public static class PrometheusSample
{
    /// <summary>
    /// The value of <paramref name="name"/> with exactly <paramref name="labels"/> (as written between the braces, e.g.
    /// <c>stream="news"</c>), or null when the answer has no such sample.
    /// </summary>
    public static double? Read(string metrics, string name, string labels)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var match = Regex.Match(metrics, $"^{Regex.Escape(name)}\\{{{Regex.Escape(labels)}\\}} (\\S+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }
}
