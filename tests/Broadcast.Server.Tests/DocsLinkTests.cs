using System.Text.RegularExpressions;
using Broadcast.TestSupport;

namespace Broadcast.Server.Tests;

/// <summary>
/// Every relative link in the README, the project's top-level pages and docs/ leads somewhere: the file exists, and an
/// anchor names a heading of that file (GitHub's anchors: lower case, punctuation dropped, spaces as hyphens).
/// </summary>
public sealed partial class DocsLinkTests
{
    public static TheoryData<string> Pages()
    {
        var pages = new TheoryData<string>();
        foreach (string file in new[] { "README.md", "ARCHITECTURE.md", "SECURITY.md" }) pages.Add(file);
        foreach (string file in Directory.GetFiles(Path.Combine(RepoPaths.Root, "docs"), "*.md").Order(StringComparer.Ordinal))
            pages.Add(Path.GetRelativePath(RepoPaths.Root, file).Replace('\\', '/'));
        return pages;
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public void Every_relative_link_leads_to_a_file_and_a_heading_that_exist(string page)
    {
        string path = Path.Combine(RepoPaths.Root, page);
        var broken = new List<string>();
        foreach (Match link in Link().Matches(WithoutCode(File.ReadAllText(path))))
        {
            string target = link.Groups[1].Value;
            if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal)) continue;
            int hash = target.IndexOf('#', StringComparison.Ordinal);
            string file = hash < 0 ? target : target[..hash];
            string? anchor = hash < 0 ? null : target[(hash + 1)..];
            string resolved = file.Length == 0 ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, file));
            if (!File.Exists(resolved) && !Directory.Exists(resolved))
            {
                broken.Add($"{target}: no such file");
                continue;
            }

            if (anchor is not null && (!File.Exists(resolved) || !Anchors(resolved).Contains(anchor)))
                broken.Add($"{target}: no heading #{anchor} in {Path.GetRelativePath(RepoPaths.Root, resolved)}");
        }

        Assert.True(broken.Count == 0, $"{page}: {string.Join("; ", broken)}");
    }

    [Fact]
    public void The_readme_is_short_enough_to_read_and_lists_every_docs_page()
    {
        string readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        Assert.True(readme.Length < 25_000, $"README.md is {readme.Length} characters: topics belong in docs/");
        foreach (string file in Directory.GetFiles(Path.Combine(RepoPaths.Root, "docs"), "*.md"))
            Assert.Contains($"(docs/{Path.GetFileName(file)})", readme, StringComparison.Ordinal);
    }

    private static HashSet<string> Anchors(string file)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match heading in Heading().Matches(WithoutCode(File.ReadAllText(file))))
        {
            string text = heading.Groups[1].Value.Trim().ToLowerInvariant();
            anchors.Add(Punctuation().Replace(text, "").Replace(' ', '-'));
        }

        return anchors;
    }

    // Fenced code blocks hold shell comments that look like headings and text that looks like links.
    private static string WithoutCode(string markdown) => Fence().Replace(markdown, "");

    [GeneratedRegex(@"\[[^\]]*\]\(([^)\s]+)\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"^#{1,6} (.+)$", RegexOptions.Multiline)]
    private static partial Regex Heading();

    [GeneratedRegex(@"[^\w\- ]")]
    private static partial Regex Punctuation();

    [GeneratedRegex(@"^```.*?^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex Fence();
}
