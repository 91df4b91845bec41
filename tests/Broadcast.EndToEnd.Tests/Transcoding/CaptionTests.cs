using System.Text.RegularExpressions;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Transcoding;

/// <summary>
/// CTA-608 captions end to end: a clip whose H.264 carries A/53 caption SEI (<see cref="CaptionClip"/>) is published over
/// RTMP; the master playlist declares the CLOSED-CAPTIONS rendition on every variant and the MPD the Accessibility
/// descriptor; every rendition's CMAF (init + media segments, downloaded from the origin) still carries the captions,
/// read back by ffmpeg's own CTA-608 decoder; hls.js finds them in the fMP4 and shows them as a text track.
/// </summary>
public sealed partial class CaptionTests
{
    private const int Seconds = 14;
    private static readonly string[] Video = ["source", "270p", "180p"];

    [Fact]
    public async Task Captions_survive_every_rung_and_the_manifests_declare_them()
    {
        string clip = await CaptionClip.GetAsync(Seconds, 640, 360);
        var published = await CaptionClip.DecodeAsync(clip);
        Assert.Equal(Enumerable.Range(0, Seconds).Select(CaptionClip.Text), published);

        await using var server = await ServerProcess.StartAsync(new ServerOptions
        {
            SegmentSeconds = 2,
            ExtraArguments =
            [
                "--Transcode:ShedBelowSpeed=0",
                "--Transcode:Ladder:0:Name=270p", "--Transcode:Ladder:0:Height=270", "--Transcode:Ladder:0:VideoBitrate=400000",
                "--Transcode:Ladder:1:Name=180p", "--Transcode:Ladder:1:Height=180", "--Transcode:Ladder:1:VideoBitrate=200000",
                // The whole clip stays in the playlists, so each rendition's captions can be read back from start to end.
                "--Packager:WindowSegments=20",
            ],
        });
        string Log(string m) => $"{m}{Environment.NewLine}--- server log ---{Environment.NewLine}{server.LogTail(80)}";
        var channel = await server.Api.CreateChannelAsync("captions " + Guid.NewGuid().ToString("N"));
        await using var publisher = FfmpegPublisher.Start(clip, server.RtmpUrl(channel.StreamKey));
        var master = server.Absolute($"/live/{channel.Slug}/master.m3u8");

        // 1. The master declares one CLOSED-CAPTIONS rendition (CC1) and every variant names it.
        string masterText = await LadderPlaylists.WaitForMasterAsync(server, master, Video, Log);
        Assert.Contains("#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"cc\",NAME=\"English\",LANGUAGE=\"en\",INSTREAM-ID=\"CC1\",DEFAULT=YES,AUTOSELECT=YES\n", masterText, StringComparison.Ordinal);
        var variants = masterText.Split('\n').Where(l => l.StartsWith("#EXT-X-STREAM-INF:", StringComparison.Ordinal)).ToList();
        Assert.Equal(Video.Length, variants.Count);
        Assert.All(variants, v => Assert.EndsWith(",CLOSED-CAPTIONS=\"cc\"", v, StringComparison.Ordinal));
        string mpd = await server.Viewer.GetStringAsync(server.Absolute($"/live/{channel.Slug}/manifest.mpd"));
        Assert.Contains("<Accessibility schemeIdUri=\"urn:scte:dash:cc:cea-608:2015\" value=\"CC1=eng\"/>", mpd, StringComparison.Ordinal);

        // 2. hls.js parses CEA-608 out of the fMP4's SEI and exposes it as a text track named after the master's NAME.
        await using var browser = await BrowserHost.StartAsync();
        await using var hls = await browser.OpenAsync(PlayerKind.Hls);
        await hls.StartAsync(master.ToString());
        await hls.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => Log(""));
        IReadOnlyList<string> cues = [];
        await WaitFor.ConditionAsync(async () =>
        {
            cues = await hls.GetTextTrackCuesAsync();
            return cues.Any(c => HelloCue().IsMatch(c));
        }, TimeSpan.FromSeconds(30), "hls.js to show a HELLO caption cue", () => Log(string.Join("\n", cues)));
        Assert.Contains(cues, c => c.StartsWith("English: ", StringComparison.Ordinal));
        await hls.DisposeAsync();

        // Shaka Player, from the HLS master and from the MPD: the declared caption track is offered, and once selected shows.
        foreach (var manifest in new[] { master, server.Absolute($"/live/{channel.Slug}/manifest.mpd") })
        {
            await using var shaka = await browser.OpenAsync(PlayerKind.Shaka);
            await shaka.StartAsync(manifest.ToString());
            await shaka.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => Log(""));
            string tracks = "";
            cues = [];
            await WaitFor.ConditionAsync(async () =>
            {
                tracks = await shaka.EvaluateAsync<string>(ShakaShowCaptions);
                cues = await shaka.GetTextTrackCuesAsync();
                return cues.Any(c => HelloCue().IsMatch(c));
            }, TimeSpan.FromSeconds(30), $"Shaka Player ({manifest}) to show a HELLO caption cue", () => Log($"tracks {tracks}; cues {string.Join("\n", cues)}"));
            Assert.Contains("en/caption", tracks, StringComparison.Ordinal);
        }

        // 3. Once the publish has ended, every rendition's init segment plus media segments, as players get them, decode to
        // the captions that were published.
        Assert.Equal(0, await publisher.WaitForExitAsync(TimeSpan.FromSeconds(90)));
        var playlists = await LadderPlaylists.WaitForEndedAsync(server, channel.Slug, Video, Log);
        using var dir = new TempDirectory("captions-e2e");
        foreach (var v in Video)
        {
            string init = InitUri().Match(playlists[v]).Groups[1].Value;
            var segments = SegmentUri().Matches(playlists[v]).Select(m => m.Groups[1].Value).ToList();
            Assert.True(init.Length > 0 && segments.Count >= Seconds / 2 - 1, $"{v}:\n{playlists[v]}");
            string file = Path.Combine(dir.Path, v + ".mp4");
            await using (var output = File.Create(file))
                foreach (var name in segments.Prepend(init))
                    await output.WriteAsync(await server.Viewer.GetByteArrayAsync(server.Absolute($"/live/{channel.Slug}/{v}/{name}")));
            var decoded = await CaptionClip.DecodeAsync(file);
            Assert.True(published.SequenceEqual(decoded), $"{v}: captions {string.Join(", ", decoded)}; published {string.Join(", ", published)}");
        }
    }

    /// <summary>Selects Shaka's CEA-608 text track (in Shaka 5 a selected text track is a shown one); returns its text tracks as language/kind/mimeType.</summary>
    private const string ShakaShowCaptions = """
        () => {
          const p = window.__shaka;
          if (!p) return '';
          const tracks = p.getTextTracks();
          const cc = tracks.find((t) => t.kind === 'caption' || t.mimeType === 'application/cea-608');
          if (cc && !cc.active) p.selectTextTrack(cc);
          return tracks.map((t) => t.language + '/' + t.kind + '/' + t.mimeType + (t.active ? '/active' : '')).join(' ');
        }
        """;

    [GeneratedRegex(@"HELLO \d+")]
    private static partial Regex HelloCue();

    [GeneratedRegex("#EXT-X-MAP:URI=\"([^\"]+)\"")]
    private static partial Regex InitUri();

    [GeneratedRegex(@"^([^#\s][^\s]*\.m4s)$", RegexOptions.Multiline)]
    private static partial Regex SegmentUri();
}
