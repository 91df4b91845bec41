using System.Globalization;
using Broadcast.Soak;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Server;

/// <summary>
/// SRT ingest on the shared server (its fixture turns SRT on): ffmpeg publishes MPEG-TS to the URL the channel API gives,
/// hls.js and dash.js play the channel; a caller with a wrong key is refused during the SRT handshake.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class SrtTests(ServerFixture fixture)
{
    private static readonly ClipSpec SrtClip = new() { Seconds = 16, Width = 320, Height = 240, Fps = 30, VideoBitrateKbps = 300 };

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Ffmpeg_publishes_over_srt_and_hls_js_and_dash_js_play_it_while_a_wrong_key_is_refused()
    {
        var clip = await TestMedia.GetClipAsync(SrtClip);
        var channel = await Server.Api.CreateChannelAsync($"srt {Guid.NewGuid():N}");
        fixture.Check(channel.SrtUrl == $"srt://127.0.0.1:{fixture.SrtPort}?streamid=#!::r=live/{channel.StreamKey},m=publish",
            $"srtUrl {channel.SrtUrl}");
        await using var publisher = SrtPublisher.StartClip(clip, channel.SrtUrl!, loops: 2);
        string Publisher() => $"srt publisher:{Environment.NewLine}{publisher.Log.Tail(20)}";

        var hls = PlaybackUrls.Hls(Server, channel);
        var dash = PlaybackUrls.Dash(Server, channel);
        await WaitFor.ConditionAsync(
            async () =>
            {
                using var r = await Server.Viewer.GetAsync(hls);
                return r.IsSuccessStatusCode;
            },
            TimeSpan.FromSeconds(40), $"GET {hls} to answer 200 while publishing over SRT", () => fixture.WithLog(Publisher()));

        // A caller with an unknown key, in the plain stream id form, while the first one is live.
        await using (var wrong = SrtPublisher.StartClip(clip, $"srt://127.0.0.1:{fixture.SrtPort}?streamid=live/not-a-key"))
        {
            var exit = await wrong.WaitForExitAsync(TimeSpan.FromSeconds(60));
            fixture.Check(exit != 0, $"the wrong key's publisher exited {exit}; expected a refusal{Environment.NewLine}{wrong.Log.Tail(20)}");
        }
        await WaitFor.ConditionAsync(() => Server.Log.Contains("refused at the handshake (reject code 1401)"),
            TimeSpan.FromSeconds(15), "the server log to say why the wrong key was refused", () => fixture.WithLog(""));
        fixture.Check(!Server.Log.Contains("not-a-key"), "the refused stream key went into the server log");
        fixture.Check(!publisher.HasExited, $"the SRT publisher stopped when a wrong key was refused{Environment.NewLine}{Publisher()}");
        string metrics = await Server.Viewer.GetStringAsync("metrics");
        fixture.Check(MetricAtLeast(metrics, "broadcast_srt_publishers", 1) && MetricAtLeast(metrics, "broadcast_srt_publish_key_refused_total", 1),
            $"/metrics while publishing over SRT after a refused key:{Environment.NewLine}{string.Join(Environment.NewLine, metrics.Split('\n').Where(l => l.Contains("srt", StringComparison.Ordinal)))}");

        var status = await Server.Api.GetChannelAsync(channel.Id);
        fixture.Check(status.Live == true && string.Equals(status.VideoCodec, "h264", StringComparison.OrdinalIgnoreCase) && status.Width == 320 && status.Height == 240,
            $"channel status while publishing over SRT: {status}");

        foreach (var (kind, url) in new[] { (PlayerKind.Hls, hls), (PlayerKind.Dash, dash) }) await fixture.PlaysAsync(kind, url, Publisher);
        publisher.Stop();
    }

    /// <summary>
    /// Opus over SRT (OBS, hardware encoders): the channel carries AAC like any other publish and hls.js plays it. The
    /// publisher flashes its picture and beeps at the same instants every 2 s; in the packaged renditions each beep still
    /// starts within 60 ms of its flash (one AAC frame is 21 ms; the Opus encoder's look-ahead a few ms), so the audio
    /// kept its place on the program clock through the Opus to AAC ffmpeg.
    /// </summary>
    [Fact]
    public async Task An_srt_publish_with_opus_audio_is_aac_in_its_renditions_and_stays_in_sync()
    {
        var channel = await Server.Api.CreateChannelAsync($"srt opus {Guid.NewGuid():N}");
        await using var publisher = SrtPublisher.StartFlashAndBeep(channel.SrtUrl!, "libopus");
        string Publisher() => $"srt publisher:{Environment.NewLine}{publisher.Log.Tail(20)}";
        var hls = PlaybackUrls.Hls(Server, channel);
        string master = "";
        await WaitFor.ConditionAsync(
            async () =>
            {
                using var r = await Server.Viewer.GetAsync(hls);
                master = r.IsSuccessStatusCode ? await r.Content.ReadAsStringAsync() : "";
                return Programs.ProgramOutput.AudioRendition(master) is not null;
            },
            TimeSpan.FromSeconds(40), $"GET {hls} to list an audio rendition while publishing Opus over SRT", () => fixture.WithLog(Publisher()));
        fixture.Check(master.Contains("mp4a.40.2", StringComparison.Ordinal) && !master.Contains("opus", StringComparison.OrdinalIgnoreCase),
            $"the master playlist does not declare AAC audio:{Environment.NewLine}{master}");
        fixture.Check(Server.Log.Contains("sends Opus: ffmpeg"), "the server log does not say the Opus audio is turned into AAC");
        var status = await Server.Api.GetChannelAsync(channel.Id);
        fixture.Check(status.Live == true && string.Equals(status.AudioCodec, "aac", StringComparison.OrdinalIgnoreCase), $"channel status while publishing Opus over SRT: {status}");

        string audio = Programs.ProgramOutput.AudioRendition(master)!, seen = "";
        await WaitFor.ConditionAsync(async () =>
        {
            var (flashes, beeps) = await FlashesAndBeepsAsync(channel.Slug, audio);
            seen = $"flashes at {string.Join(", ", flashes)}; beeps at {string.Join(", ", beeps)}";
            return beeps.Count > 0 && flashes.Count > 0 && beeps.All(b => flashes.Any(f => Math.Abs(b - f) <= 0.06));
        }, TimeSpan.FromSeconds(45), "every packaged beep within 60 ms of its flash", () => fixture.WithLog(seen + Environment.NewLine + Publisher()),
            pollInterval: TimeSpan.FromSeconds(1));

        await fixture.PlaysAsync(PlayerKind.Hls, hls, Publisher);
        publisher.Stop();
    }

    /// <summary>
    /// The two newest segments both renditions list, decoded: the times (seconds, media clock) where the picture turns
    /// white, and where the audio's beeps start after silence.
    /// </summary>
    private async Task<(List<double> Flashes, List<double> Beeps)> FlashesAndBeepsAsync(string slug, string audio)
    {
        async Task<MediaPlaylistView?> PlaylistAsync(string rendition)
        {
            using var r = await Server.Viewer.GetAsync(Server.Absolute($"/live/{slug}/{rendition}/index.m3u8"));
            return r.IsSuccessStatusCode && MediaPlaylistView.TryParse(await r.Content.ReadAsStringAsync(), out var view, out _) && view.InitUri is not null ? view : null;
        }
        if (await PlaylistAsync("source") is not { } video || await PlaylistAsync(audio) is not { } sound) return ([], []);
        var common = video.Entries.Select(e => e.Uri).Intersect(sound.Entries.Select(e => e.Uri)).TakeLast(2).ToList();
        if (common.Count < 2) return ([], []);
        async Task<string> FileAsync(string rendition, string init)
        {
            string path = Path.Combine(Path.GetTempPath(), $"sync-{Guid.NewGuid():N}.mp4");
            var bytes = new List<byte>(await Server.Viewer.GetByteArrayAsync(Server.Absolute($"/live/{slug}/{rendition}/{init}")));
            foreach (var uri in common) bytes.AddRange(await Server.Viewer.GetByteArrayAsync(Server.Absolute($"/live/{slug}/{rendition}/{uri}")));
            await File.WriteAllBytesAsync(path, [.. bytes]);
            return path;
        }
        string videoFile = await FileAsync("source", video.InitUri!), audioFile = await FileAsync(audio, sound.InitUri!);
        try
        {
            var pictures = await Programs.ProgramOutput.DecodeAsync(["-copyts", "-i", videoFile,
                "-vf", "scale=16:16,signalstats,metadata=mode=print:key=lavfi.signalstats.YAVG:file=-", "-f", "null", "-"]);
            var sounds = await Programs.ProgramOutput.DecodeAsync(["-copyts", "-i", audioFile,
                "-af", "silencedetect=n=-30dB:d=0.05,ametadata=mode=print:key=lavfi.silence_end:file=-", "-f", "null", "-"]);
            var flashes = new List<double>();
            double time = double.NaN;
            bool white = true; // a flash already on at the start has no onset in view
            foreach (var line in System.Text.Encoding.UTF8.GetString(pictures).Split('\n'))
            {
                if (line.StartsWith("frame:", StringComparison.Ordinal)) time = double.Parse(line[(line.IndexOf("pts_time:", StringComparison.Ordinal) + 9)..].Trim(), CultureInfo.InvariantCulture);
                else if (line.StartsWith("lavfi.signalstats.YAVG=", StringComparison.Ordinal))
                {
                    bool now = double.Parse(line[23..].Trim(), CultureInfo.InvariantCulture) > 128;
                    if (now && !white) flashes.Add(time);
                    white = now;
                }
            }
            var beeps = System.Text.Encoding.UTF8.GetString(sounds).Split('\n').Where(l => l.StartsWith("lavfi.silence_end=", StringComparison.Ordinal))
                .Select(l => double.Parse(l[18..].Trim(), CultureInfo.InvariantCulture)).ToList();
            return (flashes, beeps);
        }
        finally
        {
            File.Delete(videoFile);
            File.Delete(audioFile);
        }
    }

    private static bool MetricAtLeast(string metrics, string name, long least) =>
        System.Text.RegularExpressions.Regex.Match(metrics, $@"^{name} (\d+)$", System.Text.RegularExpressions.RegexOptions.Multiline) is { Success: true } m
        && long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= least;
}
