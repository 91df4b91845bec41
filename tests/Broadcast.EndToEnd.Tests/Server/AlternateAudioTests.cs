using System.Globalization;
using System.Xml.Linq;
using Broadcast.Soak;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Server;

/// <summary>
/// Alternate audio: an SRT (MPEG-TS) publish with two AAC PIDs, each tagged with an ISO 639 language descriptor (eng
/// carrying 440 Hz, fra carrying 660 Hz), is offered as two audio renditions of one group. The master's EXT-X-MEDIA lines
/// and the MPD's audio AdaptationSets name each language and which is the default; each rendition's segments carry its
/// own PID's tone and are cut at the video's segment numbers (a switch of language stays in sync); hls.js and Shaka
/// (HLS and DASH) play English's tone, switch to French, keep playing and then play French's, as measured in the audio
/// the browser decodes (<see cref="BrowserToneMeter"/>). One publish serves every test (the class fixture).
/// </summary>
[Collection(AudioRenditionsCollection.Name)]
public sealed class AlternateAudioTests(AlternateAudioFixture fixture) : IClassFixture<AlternateAudioFixture>
{
    [Fact]
    public async Task The_master_playlist_groups_english_and_french_audio_renditions()
    {
        string master = await fixture.AlternateMasterAsync();
        string Context(string what) => fixture.Describe($"{what}{Environment.NewLine}--- master.m3u8 ---{Environment.NewLine}{master}");
        var audio = AudioRenditionChecks.Tags(master, "#EXT-X-MEDIA:").Where(a => a.GetValueOrDefault("TYPE") == "AUDIO").ToList();
        Assert.True(audio.Count == 2, Context($"{audio.Count} EXT-X-MEDIA TYPE=AUDIO lines; expected 2"));
        var expected = new[]
        {
            new Dictionary<string, string>
            {
                ["GROUP-ID"] = "audio", ["LANGUAGE"] = "en", ["NAME"] = "English", ["DEFAULT"] = "YES", ["AUTOSELECT"] = "YES",
                ["URI"] = "audio/index.m3u8",
            },
            new Dictionary<string, string>
            {
                ["GROUP-ID"] = "audio", ["LANGUAGE"] = "fr", ["NAME"] = "French", ["DEFAULT"] = "NO", ["AUTOSELECT"] = "YES",
                ["URI"] = "audio-fr/index.m3u8",
            },
        };
        for (int i = 0; i < expected.Length; i++)
        {
            foreach (var (name, value) in expected[i])
            {
                string? actual = audio[i].GetValueOrDefault(name);
                Assert.True(actual == value, Context($"audio rendition {i + 1}: {name}={actual ?? "(absent)"}, expected {value}"));
            }
        }

        var variants = AudioRenditionChecks.Tags(master, "#EXT-X-STREAM-INF:");
        Assert.True(variants.Count > 0, Context("no EXT-X-STREAM-INF"));
        Assert.True(variants.All(v => v.GetValueOrDefault("AUDIO") == "audio"), Context("an EXT-X-STREAM-INF without AUDIO=\"audio\""));
    }

    [Fact]
    public async Task The_mpd_has_an_english_main_and_a_french_alternate_audio_adaptation_set()
    {
        var (mpd, text) = await fixture.AlternateMpdAsync();
        string Context(string what) => fixture.Describe($"{what}{Environment.NewLine}--- manifest.mpd ---{Environment.NewLine}{text}");
        var sets = AudioRenditionChecks.AudioSets(mpd);
        Assert.True(sets.Count == 2, Context($"{sets.Count} AdaptationSets with contentType=\"audio\"; expected 2"));
        foreach (var (lang, role) in new[] { ("en", "main"), ("fr", "alternate") })
        {
            var set = sets.FirstOrDefault(s => (string?)s.Attribute("lang") == lang);
            Assert.True(set is not null, Context($"no audio AdaptationSet with lang=\"{lang}\""));
            var roles = AudioRenditionChecks.Roles(set);
            Assert.True(roles.Count == 1 && roles[0] == role,
                Context($"lang=\"{lang}\": roles [{string.Join(", ", roles)}], expected \"{role}\""));
        }
    }

    /// <summary>
    /// The rendition's newest three segments, decoded: the tone of its own PID dominates the other's by ten times in
    /// energy, so the renditions are not one PID packaged twice or the two swapped.
    /// </summary>
    [Theory]
    [InlineData("audio", 440, 660)]
    [InlineData("audio-fr", 660, 440)]
    public async Task Each_audio_rendition_carries_its_own_tone(string rendition, int own, int other)
    {
        // audio-fr exists once the master names it; audio (the first PID) is there with any audio at all.
        if (rendition != "audio") await fixture.AlternateMasterAsync();
        else await fixture.LiveAsync();
        var playlist = await fixture.PlaylistAsync(rendition, 3);
        var tone = await AudioRenditionChecks.ToneAsync(fixture.Server.Viewer, fixture.Url, rendition, playlist.View, own, other);
        Assert.True(tone.IsOneAacStream, fixture.Describe($"{rendition}: ffprobe found [{tone.Streams}], expected one AAC stream"));
        Assert.True(tone.OwnToneDominates, fixture.Describe(tone.Levels));
    }

    /// <summary>
    /// Segments numbered as the video's and of the same length (within an AAC frame plus rounding), so a player that
    /// switches language fetches the segment of the same number and stays where it was.
    /// </summary>
    [Theory]
    [InlineData("audio")]
    [InlineData("audio-fr")]
    public async Task Each_audio_rendition_is_cut_where_the_video_is(string rendition)
    {
        if (rendition != "audio") await fixture.AlternateMasterAsync();
        else await fixture.LiveAsync();
        // Audio first: the video playlist, read after it, has had the time to list the same segments.
        var audio = await fixture.PlaylistAsync(rendition, 3);
        var video = await fixture.PlaylistAsync("source", 3);
        string? mismatch = AudioRenditionChecks.CutMismatch(rendition, audio, video);
        Assert.True(mismatch is null, fixture.Describe(mismatch ?? ""));
    }

    [Fact]
    public async Task Hls_js_lists_both_languages_and_switching_plays_the_french_tone()
    {
        await fixture.AlternateMasterAsync();
        await using var player = await (await fixture.BrowserAsync()).OpenAsync(PlayerKind.Hls);
        string Diagnose(string what) => fixture.Describe($"{what}{Environment.NewLine}{player.DescribeAsync().GetAwaiter().GetResult()}");
        await player.StartAsync(fixture.Master.ToString());
        // hls.html sets __player.levels in its MANIFEST_PARSED handler; the audio track controller has filled audioTracks by then.
        await WaitFor.ConditionAsync(() => player.EvaluateAsync<bool>("() => window.__player.levels.length > 0"), TimeSpan.FromSeconds(30),
            "hls.js MANIFEST_PARSED", () => Diagnose(""));
        string[] langs = await player.EvaluateAsync<string[]>("() => window.__hls.audioTracks.map((t) => String(t.lang))");
        Assert.True(langs.Length == 2 && langs.Contains("en") && langs.Contains("fr"),
            Diagnose($"hls.audioTracks langs [{string.Join(", ", langs)}]"));
        await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => Diagnose("hls.js"));
        // What the browser decodes and plays: English's 440 Hz, then, once switched, French's 660 Hz.
        var meter = await BrowserToneMeter.AttachAsync(player);
        await meter.WaitUntilHeardAsync(440, 660, TimeSpan.FromSeconds(20), "hls.js on English", Diagnose);

        int french = Array.IndexOf(langs, "fr");
        await player.Page.EvaluateAsync("""
            (index) => {
              const hls = window.__hls, seen = window.__alternate = { switched: null, audio: [] };
              hls.on(Hls.Events.AUDIO_TRACK_SWITCHED, (_, data) => { seen.switched = data.id; });
              hls.on(Hls.Events.FRAG_LOADED, (_, data) => { if (data.frag.type === 'audio') seen.audio.push(data.frag.url); });
              hls.audioTrack = index;
            }
            """, french);
        await WaitFor.ConditionAsync(
            () => player.EvaluateAsync<bool>(
                $"() => window.__alternate.switched === {french} && window.__alternate.audio.some((u) => u.includes('/audio-fr/'))"),
            TimeSpan.FromSeconds(30), "hls.js AUDIO_TRACK_SWITCHED to French and an audio FRAG_LOADED from /audio-fr/",
            () => Diagnose(player.EvaluateAsync<string>("() => JSON.stringify(window.__alternate)").GetAwaiter().GetResult()));
        double at = await player.GetCurrentTimeAsync();
        await player.WaitForCurrentTimeAsync(at + 3, TimeSpan.FromSeconds(30), () => Diagnose("hls.js after the switch to French"));
        await meter.WaitUntilHeardAsync(660, 440, TimeSpan.FromSeconds(30), "hls.js after the switch to French", Diagnose);
        var fatal = await player.GetFatalErrorsAsync();
        Assert.True(fatal.Count == 0, Diagnose($"hls.js fatal errors: {string.Join("; ", fatal)}"));
    }

    [Theory]
    [InlineData("hls")]
    [InlineData("dash")]
    public async Task Shaka_lists_both_languages_and_switching_plays_the_french_tone(string manifest)
    {
        if (manifest == "hls") await fixture.AlternateMasterAsync();
        else await fixture.AlternateMpdAsync();
        await using var player = await (await fixture.BrowserAsync()).OpenAsync(PlayerKind.Shaka);
        string Diagnose(string what) => fixture.Describe($"{what}{Environment.NewLine}{player.DescribeAsync().GetAwaiter().GetResult()}");
        await player.StartAsync((manifest == "hls" ? fixture.Master : fixture.Mpd).ToString());
        await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => Diagnose($"Shaka ({manifest})"));
        var meter = await BrowserToneMeter.AttachAsync(player);
        await meter.WaitUntilHeardAsync(440, 660, TimeSpan.FromSeconds(20), $"Shaka ({manifest}) on English", Diagnose);
        // Shaka 5 (the bundled 5.2) has no getAudioLanguages()/selectAudioLanguage(): its audio tracks carry the language.
        string[] langs = await player.EvaluateAsync<string[]>("() => window.__shaka.getAudioTracks().map((t) => String(t.language))");
        Assert.True(langs.Contains("en") && langs.Contains("fr"),
            Diagnose($"Shaka ({manifest}) getAudioTracks() languages [{string.Join(", ", langs)}]"));

        await player.EvaluateAsync<bool>(
            "() => { const p = window.__shaka; p.selectAudioTrack(p.getAudioTracks().find((t) => t.language === 'fr')); return true; }");
        const string Active = "() => String((window.__shaka.getVariantTracks().find((t) => t.active) || {}).language)";
        await WaitFor.ConditionAsync(async () => await player.EvaluateAsync<string>(Active) == "fr", TimeSpan.FromSeconds(30),
            $"Shaka ({manifest}) to play the French variant",
            () => Diagnose($"active variant language {player.EvaluateAsync<string>(Active).GetAwaiter().GetResult()}"));
        double at = await player.GetCurrentTimeAsync();
        await player.WaitForCurrentTimeAsync(at + 3, TimeSpan.FromSeconds(30), () => Diagnose($"Shaka ({manifest}) after the switch to French"));
        await meter.WaitUntilHeardAsync(660, 440, TimeSpan.FromSeconds(30), $"Shaka ({manifest}) after the switch to French", Diagnose);
        var fatal = await player.GetFatalErrorsAsync();
        Assert.True(fatal.Count == 0, Diagnose($"Shaka ({manifest}) fatal errors: {string.Join("; ", fatal)}"));
    }
}

/// <summary>
/// A server of its own with SRT on and no transcoder (the ladder adds nothing to alternate audio and its encode would
/// take the two cores other tests share), one channel and one ffmpeg publishing into it over SRT for every test.
/// </summary>
public sealed class AlternateAudioFixture : AudioRenditionsFixture
{
    private readonly object _gate = new();
    private readonly int _srtPort = FreePort.Udp();
    private ExternalProcess? _publisher;
    private Task<string>? _live;

    protected override string Published => "eng and fra PIDs";

    protected override string PublisherTail() => _publisher?.Output.Tail(15) ?? "(not started)";

    /// <summary>The master once it offers the video and the video playlist lists three segments (shared by the tests).</summary>
    public Task<string> LiveAsync()
    {
        lock (_gate) return _live ??= WaitForLiveAsync();
    }

    private async Task<string> WaitForLiveAsync()
    {
        string master = await WaitForMasterAsync(m => m.Contains("#EXT-X-STREAM-INF:", StringComparison.Ordinal),
            "to offer the video while publishing over SRT");
        await PlaylistAsync("source", 3);
        return master;
    }

    public override async Task InitializeAsync()
    {
        await StartServerAsync(new ServerOptions
        {
            ExtraArguments = ["--Transcode:Enabled=false", $"--Srt:Port={_srtPort}", "--Srt:BindAddress=127.0.0.1"],
        }, "alternate audio");
        // Two AAC PIDs, each with an ISO 639 descriptor (the mpegts muxer writes one from the stream's language), and a
        // tone of its own; a 2 s GOP for 2 s segments. No -t: it publishes until the fixture ends.
        _publisher = ExternalProcess.Start("ffmpeg",
        [
            "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info",
            "-re", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
            "-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
            "-re", "-f", "lavfi", "-i", "sine=frequency=660:sample_rate=48000",
            "-map", "0:v", "-map", "1:a", "-map", "2:a",
            "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
            "-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
            "-c:a", "aac", "-b:a", "96k", "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra",
            "-f", "mpegts", Channel.SrtUrl!,
        ]);
    }

    protected override async ValueTask StopPublisherAsync()
    {
        if (_publisher is not null) await _publisher.DisposeAsync();
    }
}
