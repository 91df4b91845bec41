using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Broadcast.TestSupport;

/// <summary>
/// Waits for a tab to be at an address with its document loaded, by polling the tab's state instead of Playwright's
/// <c>WaitForURLAsync</c>. That call checks the address and load state, then subscribes to the events that change
/// them; an event that the driver's thread delivers between the check and the subscription is lost, and the wait runs
/// out its whole timeout on a page that loaded long before (microsoft/playwright-dotnet#3364; met here once in CI as a
/// dashboard sign-in that timed out after its "NetworkIdle" event). Polling has no event to lose.
/// </summary>
public static class PageNavigation
{
    private static readonly TimeSpan DefaultBound = TimeSpan.FromSeconds(30);

    /// <summary>Until <paramref name="page"/>'s address satisfies <paramref name="matches"/> and its document has loaded.</summary>
    public static Task WaitForUrlAsync(IPage page, Func<string, bool> matches, string what, TimeSpan? bound = null)
    {
        ArgumentNullException.ThrowIfNull(page);
        ArgumentNullException.ThrowIfNull(matches);
        // A document still being replaced throws from EvaluateAsync ("execution context was destroyed"): WaitFor counts
        // that as not yet.
        return WaitFor.ConditionAsync(
            async () => matches(page.Url) && await page.EvaluateAsync<bool>("() => document.readyState === 'complete'").ConfigureAwait(false),
            bound ?? DefaultBound,
            what,
            () => $"the tab is at {page.Url}",
            TimeSpan.FromMilliseconds(100));
    }

    /// <summary>Until <paramref name="page"/>'s address matches <paramref name="address"/> and its document has loaded.</summary>
    public static Task WaitForUrlAsync(IPage page, Regex address, string what, TimeSpan? bound = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        return WaitForUrlAsync(page, address.IsMatch, what, bound);
    }
}
