using System.Xml.Linq;
using Broadcast.EndToEnd.Tests.Server;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Transcoding;

/// <summary>
/// Multitrack audio over Enhanced RTMP v2: the test-only sender publishes a two-rung ladder with two AAC tracks (track 0 a
/// 440 Hz tone, track 1 660 Hz) in ManyTracks audio messages. The tags carry no language, so the channel's settings name
/// them (track 0 English, track 1 French, through the API before the publish). Track 0 is the default audio, track 1 the
/// alternate rendition audio-fr: the master's EXT-X-MEDIA lines and the MPD's audio AdaptationSets say so, each
/// rendition's segments carry its own track's tone at the video's segment numbers, and hls.js lists both by language,
/// plays the English tone, switches to French and plays the French one (measured in the audio the browser decodes).
/// One publish serves every test (the class fixture).
/// </summary>
[Collection(AudioRenditionsCollection.Name)]
public sealed class MultitrackAudioTests(MultitrackAudioFixture fixture) : IClassFixture<MultitrackAudioFixture>
{
    [Fact]
    public async Task The_master_offers_track_0_as_the_default_audio_and_track_1_as_audio_fr_named_by_the_channel()
    {
        string master = await fixture.AlternateMasterAsync();
        string Context(string what) => fixture.Describe($"{what}{Environment.NewLine}--- master.m3u8 ---{Environment.NewLine}{master}");
        var audio = AudioRenditionChecks.AudioMedia(master);
        Assert.True(audio.Count == 2, Context($"{audio.Count} EXT-X-MEDIA TYPE=AUDIO lines; expected 2"));
        var expected = new[]
        {
            (Name: "English", Language: "en", Default: "YES", Uri: "audio/index.m3u8"),
            (Name: "French", Language: "fr", Default: "NO", Uri: "audio-fr/index.m3u8"),
        };
        for (int i = 0; i < expected.Length; i++)
        {
            var want = new Dictionary<string, string?>
            {
                ["GROUP-ID"] = "audio", ["NAME"] = expected[i].Name, ["DEFAULT"] = expected[i].Default, ["AUTOSELECT"] = "YES",
                ["CHANNELS"] = "2", ["URI"] = expected[i].Uri, ["LANGUAGE"] = expected[i].Language, // the channel's names
            };
            foreach (var (name, value) in want)
            {
                string? actual = audio[i].GetValueOrDefault(name);
                Assert.True(actual == value, Context($"audio rendition {i + 1}: {name}={actual ?? "(absent)"}, expected {value ?? "(absent)"}"));
            }
        }
        var variants = AudioRenditionChecks.Tags(master, "#EXT-X-STREAM-INF:");
        Assert.True(variants.Count == 2 && variants.All(v => v.GetValueOrDefault("AUDIO") == "audio"),
            Context("expected the two video rungs, each with AUDIO=\"audio\""));
    }

    [Fact]
    public async Task The_mpd_has_a_main_and_an_alternate_audio_adaptation_set()
    {
        var (mpd, text) = await fixture.AlternateMpdAsync();
        string Context(string what) => fixture.Describe($"{what}{Environment.NewLine}--- manifest.mpd ---{Environment.NewLine}{text}");
        var sets = AudioRenditionChecks.AudioSets(mpd);
        Assert.True(sets.Count == 2, Context($"{sets.Count} AdaptationSets with contentType=\"audio\"; expected 2"));
        string[] roles = ["main", "alternate"];
        for (int i = 0; i < roles.Length; i++)
        {
            var found = AudioRenditionChecks.Roles(sets[i]);
            Assert.True(found is [var only] && only == roles[i],
                Context($"audio AdaptationSet {i + 1}: roles [{string.Join(", ", found)}], expected \"{roles[i]}\""));
        }
        Assert.True((string?)sets[0].Attribute("lang") == "en", Context("the main audio AdaptationSet is not lang=\"en\""));
        Assert.True((string?)sets[1].Attribute("lang") == "fr", Context("the alternate audio AdaptationSet is not lang=\"fr\""));
    }

    /// <summary>Track 0's tone in audio, track 1's in audio-fr: not one track packaged twice, nor the two swapped.</summary>
    [Theory]
    [InlineData("audio", MultitrackAudioFixture.Track0Hz, MultitrackAudioFixture.Track1Hz)]
    [InlineData("audio-fr", MultitrackAudioFixture.Track1Hz, MultitrackAudioFixture.Track0Hz)]
    public async Task Each_audio_rendition_carries_its_own_track_s_tone(string rendition, int own, int other)
    {
        await fixture.AlternateMasterAsync();
        var playlist = await fixture.PlaylistAsync(rendition, 3);
        var tone = await AudioRenditionChecks.ToneAsync(fixture.Server.Viewer, fixture.Url, rendition, playlist.View, own, other);
        Assert.True(tone.IsOneAacStream, fixture.Describe($"{rendition}: ffprobe found [{tone.Streams}], expected one AAC stream"));
        Assert.True(tone.OwnToneDominates, fixture.Describe(tone.Levels));
    }

    [Theory]
    [InlineData("audio")]
    [InlineData("audio-fr")]
    public async Task Each_audio_rendition_is_cut_where_the_video_is(string rendition)
    {
        await fixture.AlternateMasterAsync();
        var audio = await fixture.PlaylistAsync(rendition, 3);
        var video = await fixture.PlaylistAsync("source", 3);
        string? mismatch = AudioRenditionChecks.CutMismatch(rendition, audio, video);
        Assert.True(mismatch is null, fixture.Describe(mismatch ?? ""));
    }

    [Fact]
    public async Task Hls_js_lists_english_and_french_and_switching_plays_the_french_tone()
    {
        await fixture.AlternateMasterAsync();
        await using var browser = await BrowserHost.StartAsync();
        await using var player = await browser.OpenAsync(PlayerKind.Hls);
        string Diagnose(string what) => fixture.Describe($"{what}{Environment.NewLine}{player.DescribeAsync().GetAwaiter().GetResult()}");
        await player.StartAsync(fixture.Master.ToString());
        // hls.html sets __player.levels in its MANIFEST_PARSED handler; the audio track controller has filled audioTracks by then.
        await WaitFor.ConditionAsync(() => player.EvaluateAsync<bool>("() => window.__player.levels.length > 0"), TimeSpan.FromSeconds(30),
            "hls.js MANIFEST_PARSED", () => Diagnose(""));
        string[] names = await player.EvaluateAsync<string[]>("() => window.__hls.audioTracks.map((t) => `${t.name}/${t.lang}`)");
        Assert.True(names is ["English/en", "French/fr"],
            Diagnose($"hls.audioTracks [{string.Join(", ", names)}], expected [English/en, French/fr]"));
        await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => Diagnose("hls.js"));

        // What the browser decodes and plays: the English track's 440 Hz, then, once switched, the French one's 660 Hz.
        var meter = await BrowserToneMeter.AttachAsync(player);
        await meter.WaitUntilHeardAsync(MultitrackAudioFixture.Track0Hz, MultitrackAudioFixture.Track1Hz, TimeSpan.FromSeconds(20),
            "hls.js on English (track 0)", Diagnose);

        await player.Page.EvaluateAsync("""
            () => {
              const hls = window.__hls, seen = window.__alternate = { switched: null, audio: [] };
              hls.on(Hls.Events.AUDIO_TRACK_SWITCHED, (_, data) => { seen.switched = data.id; });
              hls.on(Hls.Events.FRAG_LOADED, (_, data) => { if (data.frag.type === 'audio') seen.audio.push(data.frag.url); });
              hls.audioTrack = 1;
            }
            """);
        await WaitFor.ConditionAsync(
            () => player.EvaluateAsync<bool>(
                "() => window.__alternate.switched === 1 && window.__alternate.audio.some((u) => u.includes('/audio-fr/'))"),
            TimeSpan.FromSeconds(30), "hls.js AUDIO_TRACK_SWITCHED to track 1 and an audio FRAG_LOADED from /audio-fr/",
            () => Diagnose(player.EvaluateAsync<string>("() => JSON.stringify(window.__alternate)").GetAwaiter().GetResult()));
        double at = await player.GetCurrentTimeAsync();
        await player.WaitForCurrentTimeAsync(at + 3, TimeSpan.FromSeconds(30), () => Diagnose("hls.js after the switch to audio-fr"));
        await meter.WaitUntilHeardAsync(MultitrackAudioFixture.Track1Hz, MultitrackAudioFixture.Track0Hz, TimeSpan.FromSeconds(30),
            "hls.js after the switch to French (track 1)", Diagnose);
        var fatal = await player.GetFatalErrorsAsync();
        Assert.True(fatal.Count == 0, Diagnose($"hls.js fatal errors: {string.Join("; ", fatal)}"));
    }
}

/// <summary>
/// A server of its own with no transcoder (the encoder sends its own ladder), one channel and one test-only multitrack
/// publish into it for every test: 60 s of media, which outlasts the class.
/// </summary>
public sealed class MultitrackAudioFixture : AudioRenditionsFixture
{
    public const int Track0Hz = 440;
    public const int Track1Hz = 660;

    private TestOnlyMultitrackRtmpSender? _sender;

    protected override string Published => "audio tracks 0 and 1";

    protected override string PublisherTail()
    {
        var completion = _sender?.Completion;
        return _sender is null ? "(not started)"
            : $"multitrack sender: {_sender.MessagesSent} of {_sender.Schedule.Count} messages sent; {completion?.Status}"
              + (completion?.Exception is { } e ? $": {e.GetBaseException().Message}" : "");
    }

    public override async Task InitializeAsync()
    {
        await StartServerAsync(new ServerOptions { SegmentSeconds = 2, ExtraArguments = ["--Transcode:Enabled=false"] }, "multitrack audio");
        // E-RTMP audio tracks carry no language: the channel names them.
        await Server.Api.SetAudioTrackLanguagesAsync(Channel.Id, "en", "fr");
        // Two small rungs: the ladder is not what is tested here, and small rungs encode in a moment.
        var options = new MultitrackRenditions
        {
            // 20 s sent ten times: live for the whole class however the tests are ordered on a loaded machine.
            Duration = TimeSpan.FromSeconds(20),
            Loops = 10,
            Renditions = [new MultitrackRendition(640, 360, 800), new MultitrackRendition(426, 240, 400)],
            ToneHz = Track0Hz,
            SecondAudioToneHz = Track1Hz,
            AudioLayout = MultitrackVideoLayout.ManyTracks,
        };
        _sender = await TestOnlyMultitrackRtmpSender.StartAsync(Server.RtmpUrl(Channel.StreamKey), options, CancellationToken.None);
    }

    protected override async ValueTask StopPublisherAsync()
    {
        if (_sender is not null) await _sender.DisposeAsync();
    }
}
