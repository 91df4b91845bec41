using System.Text.RegularExpressions;
using System.Xml.Linq;
using Broadcast.TestSupport;

namespace Broadcast.Server.Tests;

/// <summary>
/// ARCHITECTURE.md's "References allowed" table is the rule; the product's .csproj files must keep to it (no cycle, no
/// pipeline project reaching into control or server, origin reading the store and the packager's manifests only). A new reference is a decision
/// made in that table first.
/// </summary>
public sealed partial class ProjectReferenceTests
{
    [Fact]
    public void Every_product_project_references_only_what_the_architecture_allows()
    {
        var allowed = AllowedReferences();
        Assert.Equal(new[] { "clips", "compositor", "control", "ingest", "media", "network", "observability", "origin", "packager", "processes", "protection", "publish", "refusals", "server", "storage", "storage-notifications", "storage-s3", "transcoder", "webrtc" }, allowed.Keys.Order(StringComparer.Ordinal).ToArray());
        var problems = new List<string>();
        foreach (var (project, may) in allowed)
        {
            string csproj = Directory.GetFiles(Path.Combine(RepoPaths.Root, project), "*.csproj").Single();
            foreach (var reference in XDocument.Load(csproj).Descendants("ProjectReference"))
            {
                string include = reference.Attribute("Include")!.Value.Replace('\\', '/');
                string target = include.Split('/', StringSplitOptions.RemoveEmptyEntries).SkipWhile(s => s == "..").First();
                if (!may.Contains(target)) problems.Add($"{project} references {target} ({include}); ARCHITECTURE.md allows {(may.Count == 0 ? "nothing" : string.Join(", ", may))}");
            }
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void No_product_project_is_missing_from_the_table()
    {
        var allowed = AllowedReferences();
        var projects = Directory.GetFiles(RepoPaths.Root, "*.csproj", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(RepoPaths.Root, p).Replace('\\', '/'))
            .Where(p => !p.StartsWith("tests/", StringComparison.Ordinal) && !p.StartsWith("bench/", StringComparison.Ordinal) && !p.Contains("/obj/", StringComparison.Ordinal))
            .Select(p => p.Split('/')[0])
            .ToHashSet(StringComparer.Ordinal);
        Assert.Empty(projects.Except(allowed.Keys));
    }

    /// <summary>
    /// The projects that speak HTTP (control's API and pages, origin's routes, WebRTC's signalling, observability's /metrics and
    /// /readyz, the error boundary those routes share, the server) are the ones
    /// that may reference ASP.NET Core; the media pipeline takes its logging, options and hosting abstractions as packages,
    /// so the compiler keeps HTTP out of it.
    /// </summary>
    [Fact]
    public void Only_the_projects_that_speak_http_reference_asp_net_core()
    {
        string[] speakHttp = ["control", "observability", "origin", "refusals", "server", "webrtc"];
        var offenders = AllowedReferences().Keys.Where(project => !speakHttp.Contains(project))
            .Where(project => XDocument.Load(Directory.GetFiles(Path.Combine(RepoPaths.Root, project), "*.csproj").Single()).Descendants("FrameworkReference")
                .Any(r => r.Attribute("Include")?.Value == "Microsoft.AspNetCore.App"))
            .ToList();
        Assert.True(offenders.Count == 0, $"{string.Join(", ", offenders)} reference ASP.NET Core, and must not know HTTP");
    }

    /// <summary>
    /// server/ only composes (ARCHITECTURE.md): each project's Add…/Map…, and adapters of a few lines between two projects'
    /// ports. Domain code that gathers there (a workflow, an endpoint, a status reader) belongs to the project whose job it is,
    /// or to a new one with its row in the table; this bound says when to look.
    /// </summary>
    [Fact]
    public void Server_stays_wiring_under_a_thousand_lines()
    {
        const int Bound = 1000;
        var files = Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "server"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(f => (File: Path.GetRelativePath(RepoPaths.Root, f), Lines: File.ReadLines(f).Count()))
            .OrderByDescending(f => f.Lines)
            .ToList();
        int total = files.Sum(f => f.Lines);
        Assert.True(files.Count > 0, "no .cs files under server/: has it moved?");
        Assert.True(total < Bound, $"server/ has {total} lines of C# (at most {Bound - 1}); largest: " +
            string.Join(", ", files.Take(5).Select(f => $"{f.File} {f.Lines}")));
    }

    /// <summary>project → projects it may reference, from ARCHITECTURE.md.</summary>
    private static Dictionary<string, HashSet<string>> AllowedReferences()
    {
        string text = File.ReadAllText(Path.Combine(RepoPaths.Root, "ARCHITECTURE.md"));
        int start = text.IndexOf("### References allowed", StringComparison.Ordinal);
        Assert.True(start >= 0, "ARCHITECTURE.md has no 'References allowed' table");
        int end = text.IndexOf("\n## ", start, StringComparison.Ordinal);
        string section = end < 0 ? text[start..] : text[start..end];
        var table = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (Match row in Row().Matches(section))
        {
            string project = row.Groups["project"].Value.Trim();
            if (project is "project" || project.StartsWith('-')) continue;
            var may = row.Groups["may"].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(s => s != "—").ToHashSet(StringComparer.Ordinal);
            table[project] = may;
        }

        return table;
    }

    // "| origin | packager, media |" rows of the section.
    [GeneratedRegex(@"^\|\s*(?<project>[a-z0-9-]+)\s*\|\s*(?<may>[^|]*)\|\s*$", RegexOptions.Multiline)]
    private static partial Regex Row();
}
