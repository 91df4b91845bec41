using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;

namespace Broadcast.TestSupport;

public enum PlayerKind
{
    /// <summary>tests/players/hls.html (hls.js).</summary>
    Hls,

    /// <summary>
    /// tests/players/hls.html with the watch page's low-latency setting: a catch-up of at most 5 % to the live target
    /// (docs/low-latency.md). hls.js's default never catches up, so a slow start stays as latency for good.
    /// </summary>
    HlsCatchingUp,

    /// <summary>
    /// tests/players/hls.html with hls.js's low-latency mode off: no parts, and a start at HOLD-BACK. It still blocks on
    /// playlist reloads (<c>_HLS_msn</c>) where a playlist offers them.
    /// </summary>
    HlsWithoutLowLatency,

    /// <summary>tests/players/dash.html (dash.js).</summary>
    Dash,

    /// <summary>tests/players/shaka.html (Shaka Player), HLS or DASH as the manifest says.</summary>
    Shaka,

    /// <summary>tests/players/shaka.html with Shaka's low-latency mode on (LL-HLS parts and blocking reloads, LL-DASH chunks).</summary>
    ShakaLowLatency,

    /// <summary>
    /// tests/players/shaka.html with ten attempts per request half a second apart (Shaka's default gives up after two):
    /// the setting docs/steering.md gives Shaka viewers, so a steering answer can move it off a failed pathway first.
    /// </summary>
    ShakaRetrying,

    /// <summary>tests/players/dash.html with ten attempts per request half a second apart (docs/steering.md), as <see cref="ShakaRetrying"/>.</summary>
    DashRetrying,
}

/// <summary>A fatal error reported by the player library or the video element.</summary>
public sealed record PlayerError(string Type, string Details);

/// <summary>A rendition the player sees in the manifest.</summary>
/// <summary>An EXT-X-DATERANGE as hls.js holds it (<see cref="BrowserPlayer.GetHlsDateRangeAsync"/>); dates in Unix milliseconds.</summary>
public sealed record HlsDateRange(bool Valid, string? Reason, double StartTime, double? AnchorStart, double? AnchorDate, double StartDate, bool Scte35Out, bool Scte35In);

public sealed record PlayerLevel(int Width, int Height, long Bitrate);

/// <summary>
/// One headless Debian Chromium (Playwright, ExecutablePath=/usr/bin/chromium, never a downloaded browser)
/// with a fresh profile, plus the static server for the player pages. Share one per test collection and
/// open a <see cref="BrowserPlayer"/> (a tab) per playback.
/// </summary>
public sealed class BrowserHost : IAsyncDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private static readonly string[] s_args =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required",
    ];

    private readonly IPlaywright _playwright;
    private readonly IBrowserContext _context;
    private readonly TempDirectory _profile;

    private BrowserHost(IPlaywright playwright, IBrowserContext context, TempDirectory profile, StaticFileServer pages)
    {
        _playwright = playwright;
        _context = context;
        _profile = profile;
        Pages = pages;
    }

    /// <summary>Serves tests/players at / and each extra mount (prefix → folder), e.g. VOD fixtures.</summary>
    public StaticFileServer Pages { get; }

    /// <param name="extraMounts">URL prefix → folder, served next to the player pages.</param>
    /// <param name="extraArguments">Chromium switches beyond the defaults (e.g. WebRTC's host candidates without mDNS).</param>
    public static async Task<BrowserHost> StartAsync(IReadOnlyDictionary<string, string>? extraMounts = null, IReadOnlyList<string>? extraArguments = null)
    {
        // Playwright must never fetch a browser; the .NET package bundles its node driver, so this runs offline.
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        Environment.SetEnvironmentVariable("PLAYWRIGHT_BROWSERS_PATH", "0");
        var playersDir = await PlayerAssets.EnsureInstalledAsync().ConfigureAwait(false);
        // The product's own player scripts (control/wwwroot/js) at /product/: the test pages use what the watch page uses.
        var mounts = new Dictionary<string, string>(extraMounts ?? new Dictionary<string, string>())
        {
            [""] = playersDir,
            ["product"] = Path.Combine(RepoPaths.Root, "control", "wwwroot", "js"),
        };
        var pages = await StaticFileServer.StartAsync(mounts).ConfigureAwait(false);
        var profile = new TempDirectory("broadcast-chromium");
        IPlaywright? playwright = null;
        try
        {
            playwright = await Playwright.CreateAsync().ConfigureAwait(false);
            var context = await playwright.Chromium.LaunchPersistentContextAsync(profile.Path, new BrowserTypeLaunchPersistentContextOptions
            {
                ExecutablePath = ChromiumPath,
                Headless = true,
                Args = [.. s_args, .. extraArguments ?? []],
                Timeout = 60_000,
            }).ConfigureAwait(false);
            return new BrowserHost(playwright, context, profile, pages);
        }
        catch
        {
            playwright?.Dispose();
            await pages.DisposeAsync().ConfigureAwait(false);
            profile.Dispose();
            throw;
        }
    }

    /// <summary>Opens a new tab with the given player page; call <see cref="BrowserPlayer.StartAsync"/> next.</summary>
    public async Task<BrowserPlayer> OpenAsync(PlayerKind kind)
    {
        var page = await _context.NewPageAsync().ConfigureAwait(false);
        return new BrowserPlayer(page, kind, Pages);
    }

    /// <summary>
    /// A blank tab for driving any page (e.g. the server's own dashboard). Tabs share the browser's cookies, so a
    /// sign-in in one is seen by the others. Close it with <see cref="IPage.CloseAsync"/>.
    /// </summary>
    public Task<IPage> NewPageAsync() => _context.NewPageAsync();

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _context.CloseAsync().ConfigureAwait(false);
        }
        catch (PlaywrightException)
        {
            // Browser already gone.
        }

        _playwright.Dispose();
        await Pages.DisposeAsync().ConfigureAwait(false);
        _profile.Dispose();
    }
}

/// <summary>One player tab: drives tests/players/{hls,dash}.html through window.__player.</summary>
public sealed class BrowserPlayer : IAsyncDisposable
{
    private readonly IPage _page;
    private readonly StaticFileServer _pages;
    private readonly LineRingBuffer _console = new(200);

    internal BrowserPlayer(IPage page, PlayerKind kind, StaticFileServer pages)
    {
        _page = page;
        _pages = pages;
        Kind = kind;
        _page.Console += (_, m) => _console.Add($"console.{m.Type}: {m.Text}");
        _page.PageError += (_, e) => _console.Add($"pageerror: {e}");
        _page.RequestFailed += (_, r) => _console.Add($"requestfailed: {r.Url} {r.Failure}");
    }

    public PlayerKind Kind { get; }

    public IPage Page => _page;

    /// <summary>
    /// Loads the player page with ?src=<paramref name="url"/>; playback starts muted. <paramref name="clearKeyLicense"/>
    /// turns on W3C ClearKey in hls.js, and in Shaka for HLS playlists, with that license URL (Shaka and dash.js read theirs from an MPD);
    /// <paramref name="cmcdSession"/> has the player send CMCD in each request's query with that session id;
    /// <paramref name="watchPageLoadPolicy"/> gives hls.js the watch page's playlist load policy (it rides out an encoder's pause).
    /// </summary>
    public async Task StartAsync(string url, string? clearKeyLicense = null, string? cmcdSession = null, bool watchPageLoadPolicy = false)
    {
        var page = Kind switch
        {
            PlayerKind.Hls => "hls.html?",
            PlayerKind.HlsCatchingUp => "hls.html?maxLiveSyncPlaybackRate=1.05&liveSyncOnStallIncrease=0.25&returnToLive=1&",
            PlayerKind.HlsWithoutLowLatency => "hls.html?lowLatency=0&",
            PlayerKind.Dash => "dash.html?",
            PlayerKind.ShakaLowLatency => "shaka.html?lowLatency=1&",
            PlayerKind.ShakaRetrying => "shaka.html?retry=10&",
            PlayerKind.DashRetrying => "dash.html?retry=10&",
            _ => "shaka.html?",
        };
        if (clearKeyLicense is not null) page += $"clearKeyLicense={Uri.EscapeDataString(clearKeyLicense)}&";
        if (cmcdSession is not null) page += $"cmcd={Uri.EscapeDataString(cmcdSession)}&";
        if (watchPageLoadPolicy) page += "playlistLoadPolicy=product&";
        var pageUrl = _pages.Url($"{page}src={Uri.EscapeDataString(url)}");
        await _page.GotoAsync(pageUrl.ToString(), new PageGotoOptions { WaitUntil = WaitUntilState.Load, Timeout = 30_000 }).ConfigureAwait(false);
    }

    /// <summary>Waits until the video element plays and its clock has moved; fails early on a fatal error.</summary>
    public Task WaitUntilPlayingAsync(TimeSpan? timeout = null, Func<string>? diagnostics = null) =>
        WaitUntilAsync("playing with currentTime > 0", "() => window.__player.state === 'playing' && window.__player.currentTime > 0", timeout ?? TimeSpan.FromSeconds(60), diagnostics);

    /// <summary>Waits until currentTime reaches <paramref name="seconds"/>.</summary>
    public Task WaitForCurrentTimeAsync(double seconds, TimeSpan? timeout = null, Func<string>? diagnostics = null) =>
        WaitUntilAsync(
            $"currentTime >= {seconds.ToString(CultureInfo.InvariantCulture)}",
            $"() => window.__player.currentTime >= {seconds.ToString(CultureInfo.InvariantCulture)}",
            timeout ?? TimeSpan.FromSeconds(60),
            diagnostics);

    /// <summary>
    /// The video element's text tracks as "label: cue text" lines (closed captions a player found in the video, for
    /// one). A disabled track holds no cues, so each is set to hidden first: the player keeps adding cues, none are drawn.
    /// </summary>
    public async Task<IReadOnlyList<string>> GetTextTrackCuesAsync()
    {
        const string script = """
            () => {
              const out = [];
              for (const t of document.getElementById('video').textTracks) {
                if (t.mode === 'disabled') t.mode = 'hidden';
                for (const c of Array.from(t.cues || [])) out.push(t.label + ': ' + c.text);
              }
              return JSON.stringify(out);
            }
            """;
        var json = await _page.EvaluateAsync<string>(script).ConfigureAwait(false);
        return JsonSerializer.Deserialize<List<string>>(json, JsonOptions) ?? [];
    }

    /// <summary>Runs a script in the player's page (a function expression) and returns its result; for player-specific checks.</summary>
    public Task<T> EvaluateAsync<T>(string script) => _page.EvaluateAsync<T>(script);

    /// <summary>Waits for the video element's ended event.</summary>
    public Task WaitForEndedAsync(TimeSpan? timeout = null, Func<string>? diagnostics = null) =>
        WaitUntilAsync("ended event", "() => window.__player.ended === true", timeout ?? TimeSpan.FromSeconds(60), diagnostics);

    public Task<double> GetCurrentTimeAsync() => _page.EvaluateAsync<double>("() => window.__player.currentTime");

    public Task<int> GetVideoWidthAsync() => _page.EvaluateAsync<int>("() => window.__player.videoWidth");

    public Task<int> GetVideoHeightAsync() => _page.EvaluateAsync<int>("() => window.__player.videoHeight");

    /// <summary>Duration in seconds; -1 while unknown or infinite (live).</summary>
    public Task<double> GetDurationAsync() => _page.EvaluateAsync<double>("() => window.__player.duration");

    /// <summary>Seeks the video element (VOD), e.g. close to the end to test the tail without playing it all.</summary>
    public Task SeekAsync(double seconds) =>
        _page.EvaluateAsync($"() => {{ document.getElementById('video').currentTime = {seconds.ToString(CultureInfo.InvariantCulture)}; }}");

    /// <summary>The range a viewer may seek in a live stream (its rewind window), on the element's timeline; null before known.</summary>
    public async Task<(double Start, double End)?> GetSeekRangeAsync()
    {
        var r = await _page.EvaluateAsync<double[]?>("() => { const r = window.__seekRange(); return r ? [r.start, r.end] : null; }");
        return r is { Length: 2 } ? (r[0], r[1]) : null;
    }

    /// <summary>Seeks as the library would for a viewer (dash.js by presentation time).</summary>
    public Task SeekToAsync(double seconds) =>
        _page.EvaluateAsync($"() => window.__seekTo({seconds.ToString(CultureInfo.InvariantCulture)})");

    /// <summary>Back to the live edge the library keeps (its target latency behind the newest media).</summary>
    public Task GoLiveAsync() => _page.EvaluateAsync("() => window.__goLive()");

    public Task<string> GetStateAsync() => _page.EvaluateAsync<string>("() => window.__player.state");

    /// <summary>Live latency in seconds as the library measures it, or null.</summary>
    public Task<double?> GetLatencyAsync() => _page.EvaluateAsync<double?>("() => window.__player.latency");

    /// <summary>Wall-clock latency: now minus the EXT-X-PROGRAM-DATE-TIME (HLS) or wall-clock time (DASH) of the frame on screen; null before it is known.</summary>
    public Task<double?> GetWallLatencyAsync() => _page.EvaluateAsync<double?>("() => window.__player.wallLatency");

    /// <summary>Pins the rendition (hls.js currentLevel; dash.js representation index); -1 for automatic.</summary>
    public Task SetLevelAsync(int level) =>
        _page.EvaluateAsync($"() => window.__setLevel({level.ToString(CultureInfo.InvariantCulture)})");

    /// <summary>
    /// Pins the rung <paramref name="level"/> and waits until the picture is <paramref name="height"/> high, asking again every
    /// 10 s as a viewer would click again: Shaka 5.2.12 once threw inside its streaming engine ("Cannot read properties of null
    /// (reading 'next')", not a fatal error) on a switch that cleared the buffer, and stayed on the rung it had.
    /// </summary>
    public async Task SwitchToHeightAsync(int level, int height, TimeSpan timeout, Func<string>? diagnostics = null)
    {
        await SetLevelAsync(level).ConfigureAwait(false);
        var askedAt = DateTimeOffset.UtcNow;
        await WaitFor.ConditionAsync(async () =>
        {
            if (await GetVideoHeightAsync().ConfigureAwait(false) == height) return true;
            if (DateTimeOffset.UtcNow - askedAt < TimeSpan.FromSeconds(10)) return false;
            askedAt = DateTimeOffset.UtcNow;
            await SetLevelAsync(level).ConfigureAwait(false);
            return false;
        }, timeout, $"{Kind} to show the {height}p rung",
            () => $"{DescribeAsync().GetAwaiter().GetResult()}{Environment.NewLine}{diagnostics?.Invoke()}").ConfigureAwait(false);
    }

    /// <summary>Buffer stalls after the first second of playback, each described with the requests before it (hls.js).</summary>
    public async Task<IReadOnlyList<string>> GetStallsAsync()
    {
        var json = await _page.EvaluateAsync<string>("() => JSON.stringify(window.__player.stalls)").ConfigureAwait(false);
        return JsonSerializer.Deserialize<List<string>>(json, JsonOptions) ?? [];
    }

    /// <summary>When the video element waited for data after it first played (a stall a viewer sees; for Shaka, also its own
    /// buffering events, which its CMCD reports as starvation), as wall-clock instants.</summary>
    public async Task<IReadOnlyList<DateTimeOffset>> GetWaitsAsync()
    {
        var json = await _page.EvaluateAsync<string>("() => JSON.stringify(window.__player.waits)").ConfigureAwait(false);
        return (JsonSerializer.Deserialize<List<long>>(json, JsonOptions) ?? []).Select(DateTimeOffset.FromUnixTimeMilliseconds).ToList();
    }

    /// <summary>When playback, once started, was blocked on a key the CDM did not have (EME 'waitingforkey'), as wall-clock instants.</summary>
    public async Task<IReadOnlyList<DateTimeOffset>> GetKeyWaitsAsync()
    {
        var json = await _page.EvaluateAsync<string>("() => JSON.stringify(window.__player.keyWaits)").ConfigureAwait(false);
        return (JsonSerializer.Deserialize<List<long>>(json, JsonOptions) ?? []).Select(DateTimeOffset.FromUnixTimeMilliseconds).ToList();
    }

    public async Task<IReadOnlyList<PlayerError>> GetFatalErrorsAsync()
    {
        var json = await _page.EvaluateAsync<string>("() => JSON.stringify(window.__player.fatalErrors)").ConfigureAwait(false);
        return JsonSerializer.Deserialize<List<PlayerError>>(json, JsonOptions) ?? [];
    }

    public async Task<IReadOnlyList<PlayerLevel>> GetLevelsAsync()
    {
        var json = await _page.EvaluateAsync<string>("() => JSON.stringify(window.__player.levels)").ConfigureAwait(false);
        return JsonSerializer.Deserialize<List<PlayerLevel>>(json, JsonOptions) ?? [];
    }

    /// <summary>
    /// hls.js's reading of the EXT-X-DATERANGE <paramref name="id"/> in any level's playlist (hls.js only): whether it is
    /// valid (tags with the same ID agree), its start on the media timeline, the start and program date of the segment it
    /// is anchored to, and which SCTE-35 attributes it holds. Null while no level's playlist has it.
    /// </summary>
    public async Task<HlsDateRange?> GetHlsDateRangeAsync(string id)
    {
        const string script = """
            (id) => {
              const h = window.__hls;
              for (const level of (h && h.levels) || []) {
                const r = level.details && level.details.dateRanges && level.details.dateRanges[id];
                if (!r) continue;
                const a = r.tagAnchor;
                return JSON.stringify({ valid: r.isValid, reason: r.invalidReason, startTime: r.startTime,
                  anchorStart: a ? a.start : null, anchorDate: a ? a.programDateTime : null, startDate: r.startDate.getTime(),
                  scte35Out: 'SCTE35-OUT' in r.attr, scte35In: 'SCTE35-IN' in r.attr });
              }
              return null;
            }
            """;
        var json = await _page.EvaluateAsync<string?>(script, id).ConfigureAwait(false);
        return json is null ? null : JsonSerializer.Deserialize<HlsDateRange>(json, JsonOptions);
    }

    public async Task ScreenshotAsync(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await _page.ScreenshotAsync(new PageScreenshotOptions { Path = path }).ConfigureAwait(false);
    }

    /// <summary>Player state, recent media events and the console tail, for assertion messages.</summary>
    public async Task<string> DescribeAsync()
    {
        string state;
        try
        {
            state = await _page.EvaluateAsync<string>(
                "() => JSON.stringify({state: window.__player.state, currentTime: window.__player.currentTime, videoWidth: window.__player.videoWidth, readyState: window.__player.readyState, fatalErrors: window.__player.fatalErrors, errors: window.__player.errors.slice(-10), events: window.__player.events, buffered: window.__player.buffered, reloads: (window.__player.reloads || []).slice(-16)})").ConfigureAwait(false);
        }
        catch (PlaywrightException e)
        {
            state = $"(page not readable: {e.Message})";
        }

        return $"{Kind} player: {state}{Environment.NewLine}--- browser console ---{Environment.NewLine}{_console.Tail(60)}";
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _page.CloseAsync().ConfigureAwait(false);
        }
        catch (PlaywrightException)
        {
        }
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNameCaseInsensitive = true };

    private async Task WaitUntilAsync(string what, string predicate, TimeSpan timeout, Func<string>? diagnostics)
    {
        string? describe = null;
        try
        {
            await WaitFor.ConditionAsync(
                async () =>
                {
                    var fatal = await GetFatalErrorsAsync().ConfigureAwait(false);
                    if (fatal.Count > 0)
                    {
                        describe = await DescribeAsync().ConfigureAwait(false);
                        throw new PlayerFatalErrorException($"{Kind} player reported a fatal error while waiting for {what}: {string.Join("; ", fatal)}{Environment.NewLine}{describe}{Extra(diagnostics)}");
                    }

                    return await _page.EvaluateAsync<bool>(predicate).ConfigureAwait(false);
                },
                timeout,
                $"{Kind} player {what}",
                () => describe ?? "",
                TimeSpan.FromMilliseconds(250)).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            describe = await DescribeAsync().ConfigureAwait(false);
            throw new TimeoutException($"{e.Message}{Environment.NewLine}{describe}{Extra(diagnostics)}", e);
        }
    }

    private static string Extra(Func<string>? diagnostics) =>
        diagnostics is null ? "" : $"{Environment.NewLine}--- diagnostics ---{Environment.NewLine}{diagnostics()}";
}

/// <summary>The player gave up; waiting longer cannot help.</summary>
public sealed class PlayerFatalErrorException(string message) : ConditionFailedException(message);
