using System.Text.RegularExpressions;
using Broadcast.TestSupport;
using Microsoft.Playwright;

namespace Broadcast.EndToEnd.Tests.Dashboard;

/// <summary>
/// A dashboard tab on a <see cref="ServerProcess"/>: signs in through the form like an admin would and keeps the
/// browser console for failure messages.
/// </summary>
public sealed partial class DashboardSession : IAsyncDisposable
{
    private readonly LineRingBuffer _console = new(200);

    private DashboardSession(IPage page, ServerProcess server)
    {
        Page = page;
        Server = server;
        page.Console += (_, m) => _console.Add($"console.{m.Type}: {m.Text}");
        page.PageError += (_, e) => _console.Add($"pageerror: {e}");
        page.RequestFailed += (_, r) => _console.Add($"requestfailed: {r.Url} {r.Failure}");
    }

    public IPage Page { get; }

    public ServerProcess Server { get; }

    public string Console => _console.Tail(60);

    public static string ArtifactsDirectory => Path.Combine(AppContext.BaseDirectory, "artifacts");

    public static async Task<DashboardSession> SignInAsync(BrowserHost browser, ServerProcess server)
    {
        var page = await browser.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        var session = new DashboardSession(page, server);
        await page.GotoAsync(session.Url("/dashboard"));
        // Not signed in: the dashboard sends us to the sign-in form, keeping where we wanted to go.
        if (page.Url.Contains("/sign-in", StringComparison.Ordinal))
        {
            await session.ScreenshotAsync("sign-in.png");
            var (user, password) = await server.DashboardCredentialsAsync();
            await page.FillAsync("#UserName", user);
            await page.FillAsync("#Password", password);
            await page.ClickAsync("#signin");
            await PageNavigation.WaitForUrlAsync(page, DashboardHome(), "the dashboard after signing in");
        }

        return session;
    }

    public string Url(string path) => new Uri(Server.BaseUri, path).ToString();

    public Task GotoAsync(string path) => Page.GotoAsync(Url(path));

    public async Task ScreenshotAsync(string name)
    {
        Directory.CreateDirectory(ArtifactsDirectory);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ArtifactsDirectory, name), FullPage = true });
    }

    public string Describe(string what) => $"{what}{Environment.NewLine}url: {Page.Url}{Environment.NewLine}--- browser console ---{Environment.NewLine}{Console}{Environment.NewLine}--- server log ---{Environment.NewLine}{Server.LogTail(60)}";

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Page.CloseAsync();
        }
        catch (PlaywrightException)
        {
        }
    }

    [GeneratedRegex(@"/dashboard$")]
    private static partial Regex DashboardHome();
}
