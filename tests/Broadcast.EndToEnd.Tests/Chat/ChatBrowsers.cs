using Broadcast.TestSupport;
using Microsoft.Playwright;

namespace Broadcast.EndToEnd.Tests.Chat;

/// <summary>
/// Debian's Chromium with one isolated context per person (own cookies and localStorage), unlike the shared
/// persistent profile of <see cref="BrowserHost"/>: two anonymous viewers and a signed-in moderator must not share
/// a session or a viewer id.
/// </summary>
public sealed class ChatBrowsers : IAsyncDisposable
{
    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;

    private ChatBrowsers(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        _browser = browser;
    }

    public static async Task<ChatBrowsers> StartAsync()
    {
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        Environment.SetEnvironmentVariable("PLAYWRIGHT_BROWSERS_PATH", "0");
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = BrowserHost.ChromiumPath,
                Headless = true,
                Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
                Timeout = 60_000,
            });
            return new ChatBrowsers(playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>A tab in a fresh context, recording its console and page errors into <paramref name="log"/>.</summary>
    public async Task<IPage> NewPersonAsync(LineRingBuffer log, string who)
    {
        var context = await _browser.NewContextAsync();
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        page.Console += (_, m) => log.Add($"{who} console.{m.Type}: {m.Text}");
        page.PageError += (_, e) => log.Add($"{who} pageerror: {e}");
        return page;
    }

    /// <summary>Signs a fresh context in to the dashboard through the form, as an admin would.</summary>
    public async Task<IPage> NewModeratorAsync(ServerProcess server, LineRingBuffer log)
    {
        var page = await NewPersonAsync(log, "moderator");
        await page.GotoAsync(new Uri(server.BaseUri, "dashboard").ToString());
        var (user, password) = await server.DashboardCredentialsAsync();
        await page.FillAsync("#UserName", user);
        await page.FillAsync("#Password", password);
        var answer = await page.RunAndWaitForResponseAsync(() => page.ClickAsync("#signin"),
            r => r.Request.Method == "POST" && new Uri(r.Url).AbsolutePath == "/sign-in");
        if (answer.Status != 302)
        {
            throw new InvalidOperationException(
                $"The dashboard sign-in answered {answer.Status}, not a redirect: {await answer.TextAsync()}{Describe(server, log)}");
        }

        await PageNavigation.WaitForUrlAsync(page, url => url.EndsWith("/dashboard", StringComparison.Ordinal),
            $"the dashboard after a sign-in that redirected to {answer.Headers.GetValueOrDefault("location")}");
        return page;
    }

    private static string Describe(ServerProcess server, LineRingBuffer log)
    {
        var n = Environment.NewLine;
        return $"{n}--- browser ---{n}{log.Tail(40)}{n}--- server ---{n}{server.LogTail(60)}";
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
