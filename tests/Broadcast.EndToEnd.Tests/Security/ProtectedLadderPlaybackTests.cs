using Broadcast.EndToEnd.Tests.Transcoding;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Security;

/// <summary>
/// Protected ladders switch rungs in the players (docs/protection.md): a <c>cbcs</c> channel and a <c>cenc</c> channel each
/// take an encoder's two-rung ladder (360p and 180p H.264, sent by the test-only multitrack sender, so no transcoder shares
/// the cores with six players); every rung's init segment names the broadcast's one KID; Shaka and dash.js play both MPDs,
/// hls.js and Shaka (configured as docs/protection.md tells a Shaka site) play the <c>cbcs</c> playlists, all with W3C
/// ClearKey from the license endpoint, and each moves to the 180p rung when told to and plays on.
/// </summary>
public sealed class ProtectedLadderPlaybackTests
{
    private static readonly MultitrackRenditions Ladder = new()
    {
        Renditions = [new(640, 360, 600), new(320, 180, 200)],
        Duration = TimeSpan.FromSeconds(20),
        Loops = 10, // the stream stays live until the last player has switched, however long a loaded machine takes
    };

    [Fact]
    public async Task Cbcs_and_cenc_ladders_switch_rungs_in_shaka_dashjs_and_hlsjs_with_clearkey()
    {
        int httpPort = FreePort.Tcp();
        await using var server = await ServerProcess.StartAsync(new ServerOptions
        {
            HttpPort = httpPort,
            SegmentSeconds = 2,
            // Players resolve a license URL against their page (another origin here), so the MPD names it absolute.
            ExtraArguments = [$"--Public:HttpBaseUrl=http://127.0.0.1:{httpPort}"],
        });
        string Log(string m) => $"{m}{Environment.NewLine}--- server log ---{Environment.NewLine}{server.LogTail(80)}";
        var cbcs = await ClearKeyPlaybackTests.CreateAsync(server, "cbcs");
        var cenc = await ClearKeyPlaybackTests.CreateAsync(server, "cenc");
        await using var cbcsSender = await TestOnlyMultitrackRtmpSender.StartAsync(server.RtmpUrl(cbcs.StreamKey), Ladder, CancellationToken.None);
        await using var cencSender = await TestOnlyMultitrackRtmpSender.StartAsync(server.RtmpUrl(cenc.StreamKey), Ladder, CancellationToken.None);
        string[] video = ["source", "track1"];
        foreach (var slug in new[] { cbcs.Slug, cenc.Slug })
        {
            await LadderPlaylists.WaitForMasterAsync(server, server.Absolute($"/live/{slug}/master.m3u8"), video, Log);
            // Both rungs under the broadcast's one key: a player switching rungs keeps its session.
            var kids = new HashSet<string>();
            foreach (var rendition in video)
            {
                byte[] init = await LadderPlaylists.InitSegmentAsync(server, slug, rendition);
                kids.Add(Convert.ToHexString(TrackEncryptionKid(init) ?? throw new Xunit.Sdk.XunitException(Log($"{slug}/{rendition}: no 'tenc' in its init segment"))));
            }

            Assert.True(kids.Count == 1, Log($"{slug}: the rungs name {kids.Count} KIDs: {string.Join(", ", kids)}"));
        }

        string License(string slug) => new Uri(server.BaseUri, $"live/{slug}/license").ToString();
        string Master(string slug) => server.Absolute($"/live/{slug}/master.m3u8").ToString();
        string Mpd(string slug) => server.Absolute($"/live/{slug}/manifest.mpd").ToString();
        await using var browser = await BrowserHost.StartAsync();
        await Task.WhenAll(
            SwitchesAsync(browser, PlayerKind.Shaka, Mpd(cbcs.Slug), null, Log),
            SwitchesAsync(browser, PlayerKind.Dash, Mpd(cbcs.Slug), null, Log),
            SwitchesAsync(browser, PlayerKind.Hls, Master(cbcs.Slug), License(cbcs.Slug), Log));
        await Task.WhenAll(
            SwitchesAsync(browser, PlayerKind.Shaka, Master(cbcs.Slug), License(cbcs.Slug), Log),
            SwitchesAsync(browser, PlayerKind.Shaka, Mpd(cenc.Slug), null, Log),
            SwitchesAsync(browser, PlayerKind.Dash, Mpd(cenc.Slug), null, Log));
    }

    /// <summary>Plays, moves to the 180p rung and plays 2 s more there, with its key from the license.</summary>
    private static async Task SwitchesAsync(BrowserHost browser, PlayerKind kind, string url, string? license, Func<string, string> log)
    {
        await using var player = await browser.OpenAsync(kind);
        string what = $"{kind} {url}";
        await player.StartAsync(url, license);
        try
        {
            await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => log(what));
            var levels = await player.GetLevelsAsync();
            int low = levels.ToList().FindIndex(l => l.Height == 180);
            Assert.True(levels.Count == 2 && low >= 0, log($"{what} levels: {string.Join(", ", levels)}"));
            await player.SwitchToHeightAsync(low, 180, TimeSpan.FromSeconds(40), () => log(what));
            double t = await player.GetCurrentTimeAsync();
            await player.WaitForCurrentTimeAsync(t + 2, TimeSpan.FromSeconds(20), () => log(what));
            // The key came from the license endpoint (EME asked it), not from a clear stream.
            bool licensed = await player.Page.EvaluateAsync<bool>("() => performance.getEntriesByType('resource').some((e) => e.name.includes('/license'))");
            Assert.True(licensed, log($"{what} played without asking the license{Environment.NewLine}{await player.DescribeAsync()}"));
            var fatal = await player.GetFatalErrorsAsync();
            Assert.True(fatal.Count == 0, log($"{what}: {string.Join("; ", fatal)}{Environment.NewLine}{await player.DescribeAsync()}"));
        }
        catch
        {
            await player.ScreenshotAsync(Path.Combine(AppContext.BaseDirectory, "artifacts", $"protected-ladder-{kind}-{Path.GetFileName(new Uri(url).AbsolutePath)}.png"));
            throw;
        }
    }

    /// <summary>
    /// The default KID of the video track's 'tenc' (ISO/IEC 23001-7 §8.2: version and flags, a reserved byte, the pattern
    /// byte, isProtected, Per_Sample_IV_Size, then the 16-byte KID), or null when the init segment has none.
    /// </summary>
    private static byte[]? TrackEncryptionKid(byte[] init)
    {
        var moov = Mp4BoxReader.Read(init).First(b => b.Type == "moov");
        var tenc = moov.Children.Where(b => b.Type == "trak")
            .Select(trak => trak.Find("mdia/minf/stbl/stsd").Children.FirstOrDefault(e => e.Type == "encv")?.Children.FirstOrDefault(b => b.Type == "sinf"))
            .Select(sinf => sinf?.Children.FirstOrDefault(b => b.Type == "schi")?.Children.FirstOrDefault(b => b.Type == "tenc"))
            .FirstOrDefault(t => t is not null);
        return tenc is null || tenc.Payload.Length < 24 ? null : tenc.Payload.Slice(8, 16).ToArray();
    }
}
