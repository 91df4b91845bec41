using Broadcast.TestSupport;

namespace Broadcast.Server.Tests;

/// <summary>
/// Browser tests wait for an address through <see cref="PageNavigation"/>, never Playwright's event waits for a URL or a
/// load state: those can lose the event they wait for and time out on a loaded page (the reason is on PageNavigation).
/// </summary>
public sealed class BrowserWaitRuleTests
{
    [Fact]
    public void No_test_waits_for_an_address_or_a_load_state_through_playwright_events()
    {
        string[] banned = [".WaitForURLAsync(", ".WaitForLoadStateAsync(", ".WaitForNavigationAsync(", ".RunAndWaitForNavigationAsync("];
        var offenders = Directory.GetFiles(Path.Combine(RepoPaths.Root, "tests"), "*.cs", SearchOption.AllDirectories)
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !p.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && Path.GetFileName(p) != $"{nameof(BrowserWaitRuleTests)}.cs")
            .SelectMany(p => File.ReadLines(p).Select((line, i) => (Path: p, Line: i + 1, Text: line)))
            .Where(l => banned.Any(b => l.Text.Contains(b, StringComparison.Ordinal)))
            .Select(l => $"{Path.GetRelativePath(RepoPaths.Root, l.Path)}:{l.Line}: {l.Text.Trim()}")
            .ToList();
        Assert.True(offenders.Count == 0, "Use PageNavigation.WaitForUrlAsync or a locator's wait instead:" + Environment.NewLine + string.Join(Environment.NewLine, offenders));
    }
}
