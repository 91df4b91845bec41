using System.Text.RegularExpressions;
using Broadcast.TestSupport;

namespace Broadcast.Server.Tests;

/// <summary>
/// The dashboard's page scripts share one set of helpers (control/wwwroot/js/dashboard-api.js): building elements with
/// text only, the antiforgery token, JSON requests to the admin API and the reading of problem+json. A page script that
/// writes its own copy again fails here, and so does a page that loads a script using them without loading them first.
/// </summary>
public sealed partial class DashboardScriptHelpersTests
{
    private static readonly string Scripts = Path.Combine(RepoPaths.Root, "control", "wwwroot", "js");
    private const string Helpers = "dashboard-api.js";

    public static TheoryData<string, string> Copies => new()
    {
        { "an element builder", @"function el\(" },
        { "the antiforgery token's form field", "__RequestVerificationToken" },
        { "the antiforgery header", "'X-CSRF-TOKEN'" },
        { "a problem+json reader", @"\.detail\s*\|\|\s*\w+\.title" },
    };

    [Theory]
    [MemberData(nameof(Copies))]
    public void Each_helper_is_written_once(string what, string pattern)
    {
        var holders = Directory.GetFiles(Scripts, "*.js").Where(f => Regex.IsMatch(File.ReadAllText(f), pattern)).Select(Path.GetFileName).ToList();
        Assert.True(holders.SequenceEqual([Helpers]), $"{what} is written in {string.Join(", ", holders)}; it belongs in {Helpers} alone");
    }

    [Fact]
    public void A_page_loads_the_helpers_before_a_script_that_uses_them()
    {
        var users = Directory.GetFiles(Scripts, "*.js").Where(f => Path.GetFileName(f) != Helpers && File.ReadAllText(f).Contains("window.dashboardApi", StringComparison.Ordinal))
            .Select(Path.GetFileName).ToHashSet(StringComparer.Ordinal);
        Assert.NotEmpty(users);
        foreach (string page in Directory.GetFiles(Path.Combine(RepoPaths.Root, "control", "Dashboard"), "*.cshtml", SearchOption.AllDirectories))
        {
            var loaded = ScriptTag().Matches(File.ReadAllText(page)).Select(m => m.Groups[1].Value).ToList();
            foreach (string script in loaded.Where(users.Contains))
            {
                int helpers = loaded.IndexOf(Helpers);
                Assert.True(helpers >= 0 && helpers < loaded.IndexOf(script), $"{Path.GetFileName(page)} loads {script} without loading {Helpers} before it");
            }
        }
    }

    [GeneratedRegex(@"<script src=""/assets/js/([\w.-]+\.js)""")]
    private static partial Regex ScriptTag();
}
