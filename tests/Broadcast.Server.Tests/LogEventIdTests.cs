using System.Text.RegularExpressions;
using Broadcast.TestSupport;

namespace Broadcast.Server.Tests;

/// <summary>
/// Log event ids are how operators filter and alert: each one means one thing across the whole product. Every
/// <c>[LoggerMessage(EventId = N)]</c> in the product's projects is unique, and lies in its project's range (README,
/// "Log event ids"), so two projects cannot pick the same number again.
/// </summary>
public sealed partial class LogEventIdTests
{
    /// <summary>Each product folder's ranges, inclusive.</summary>
    public static readonly IReadOnlyDictionary<string, (int From, int To)[]> Ranges = new Dictionary<string, (int, int)[]>
    {
        ["media"] = [(100, 999)],
        ["ingest"] = [(1000, 1999)],
        ["transcoder"] = [(2000, 2999)],
        // The supervised process type logs nothing itself: each caller logs its child's story under its own ids.
        ["processes"] = [],
        ["control"] = [(3000, 3999), (7000, 7999)],
        ["packager"] = [(4000, 4499)],
        // The bucket's start-up check kept the ids it had in server/.
        ["storage-s3"] = [(4500, 4509), (9120, 9129)],
        ["storage"] = [(4510, 4599)],
        ["origin"] = [(5000, 5999)],
        ["compositor"] = [(6000, 6999)],
        ["webrtc"] = [(8000, 8999)],
        ["storage-notifications"] = [(9300, 9399)],
        // Carved from the server's ranges when their code left server/: the ids operators filter on stayed.
        ["publish"] = [(9110, 9119)],
        ["clips"] = [(9130, 9149)],
        ["observability"] = [(9400, 9409)],
        ["protection"] = [(9500, 9519)],
        ["server"] = [(9000, 9109), (9150, 9299), (9410, 9499), (9520, 9999)],
    };

    [Fact]
    public void Every_log_event_id_is_unique_and_in_its_projects_range()
    {
        var seen = new Dictionary<int, string>();
        var problems = new List<string>();
        int count = 0;
        foreach (var (folder, ranges) in Ranges)
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, folder), "*.cs", SearchOption.AllDirectories))
            {
                if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                    || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)) continue;
                string text = File.ReadAllText(file);
                string where = Path.GetRelativePath(RepoPaths.Root, file);
                foreach (Match match in EventId().Matches(text))
                {
                    count++;
                    int id = int.Parse(match.Groups["id"].Value, System.Globalization.CultureInfo.InvariantCulture);
                    if (seen.TryGetValue(id, out string? first)) problems.Add($"{id} in {where} and {first}");
                    else seen[id] = where;
                    if (!ranges.Any(r => id >= r.From && id <= r.To))
                        problems.Add($"{id} in {where} is outside {folder}'s range{(ranges.Length > 1 ? "s" : "")} {string.Join(", ", ranges.Select(r => $"{r.From}-{r.To}"))}");
                }
            }
        }

        Assert.True(count > 100, $"only {count} event ids found: is the pattern still right?");
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [GeneratedRegex(@"(?:EventId\s*=\s*|new\s+EventId\s*\(\s*)(?<id>\d+)")]
    private static partial Regex EventId();
}
