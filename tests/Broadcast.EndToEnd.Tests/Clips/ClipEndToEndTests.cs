using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.Clips;

/// <summary>
/// A clip of a live broadcast (issue #49): ffmpeg publishes to an unrecorded channel with a plain live window, an 8 s clip
/// is cut from the last seconds over the API, ffprobe reads it as a VOD covering the range (segment-accurate, then cut
/// to the frame), its MP4 download lasts the range to the frame, the window slides past it and retention deletes the segments around it but not its own, and once the broadcast ended
/// hls.js still plays the clip.
/// </summary>
public sealed partial class ClipEndToEndTests(ITestOutputHelper output)
{
    private static readonly ClipSpec Media = new() { Seconds = 16, Width = 640, Height = 360, Fps = 30, VideoBitrateKbps = 500 };

    [Fact]
    public async Task A_clip_cut_during_the_broadcast_plays_after_its_window_moved_on_and_the_broadcast_ended()
    {
        var media = await TestMedia.GetClipAsync(Media);
        // Its own server: broadcasts unrecorded (the shared one records them all), segments deleted 2 s after they leave
        // a 12 s window, so retention is seen at work within the test.
        await using var server = await ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments = ["--Transcode:Enabled=false", "--Packager:WindowSegments=6", "--Packager:DeleteGraceSeconds=2", "--Ingest:ReconnectGraceSeconds=2"],
        });
        var channel = await server.Api.CreateChannelAsync($"clips {Guid.NewGuid():N}");
        await using var publisher = FfmpegPublisher.Start(media, server.RtmpUrl(channel.StreamKey), loops: 20);
        string Log(string m) => $"{m}{Environment.NewLine}--- server log tail ---{Environment.NewLine}{server.LogTail()}"
            + $"{Environment.NewLine}publisher:{Environment.NewLine}{publisher.Log.Tail(15)}";

        string live = $"live/{channel.Slug}/source/index.m3u8";
        string playlist = "";
        await WaitFor.ConditionAsync(async () =>
        {
            using var r = await server.Viewer.GetAsync(live);
            playlist = r.IsSuccessStatusCode ? await r.Content.ReadAsStringAsync() : "";
            return Extinf().Matches(playlist).Sum(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)) >= 11;
        }, TimeSpan.FromSeconds(90), "11 s of the broadcast in its live window", () => Log(playlist), TimeSpan.FromMilliseconds(500));

        // 1. The last 8 s but one: at once every segment that overlaps them, none copied; seconds later the ends cut to the frame.
        using var created = await server.Http.PostAsJsonAsync($"api/channels/{channel.Id}/clips", new { from = -9, to = -1, title = "Eight seconds" });
        string body = await created.Content.ReadAsStringAsync();
        Assert.True(created.StatusCode == HttpStatusCode.Created, Log($"POST clips answered {(int)created.StatusCode}: {body}"));
        var clip = JsonDocument.Parse(body).RootElement;
        long durationMs = clip.GetProperty("durationMs").GetInt64();
        Assert.InRange(durationMs, 8000, 12_500);
        var url = new Uri(clip.GetProperty("hlsUrl").GetString()!);
        string clipApi = $"api/channels/{channel.Id}/clips/{clip.GetProperty("id").GetString()}";
        string answer = "";
        await WaitFor.ConditionAsync(async () =>
        {
            answer = await server.Http.GetStringAsync(clipApi);
            return JsonDocument.Parse(answer).RootElement.GetProperty("frameAccurate").GetBoolean();
        }, TimeSpan.FromSeconds(90), "the clip's ends to be cut to the frame", () => Log(answer), TimeSpan.FromMilliseconds(500));
        clip = JsonDocument.Parse(answer).RootElement;
        durationMs = clip.GetProperty("durationMs").GetInt64();
        Assert.Equal(8000, durationMs);
        string sourceUrl = url.AbsolutePath.Replace("master.m3u8", "source.m3u8", StringComparison.Ordinal);
        string clipPlaylist = await server.Viewer.GetStringAsync(sourceUrl);
        Assert.Contains("#EXT-X-PLAYLIST-TYPE:VOD", clipPlaylist, StringComparison.Ordinal);
        var segments = ClipSegment().Matches(clipPlaylist).Select(m => (Name: m.Groups[1].Value, Number: long.Parse(m.Groups[2].Value,
            CultureInfo.InvariantCulture))).ToList();
        Assert.True(segments.Count >= 2, Log(clipPlaylist));
        // The ends are pieces of their own; the stored segments between them are referenced as they were.
        bool firstCut = clipPlaylist.Contains("\nsource/first.m4s\n", StringComparison.Ordinal);
        Assert.True(firstCut || clipPlaylist.Contains("\nsource/last.m4s\n", StringComparison.Ordinal), Log(clipPlaylist));

        var probe = await FfProbe.ProbeAsync(url.ToString(), timeout: TimeSpan.FromSeconds(60));
        Assert.InRange(probe.DurationSeconds, 8 - 0.1, 8 + 0.1);
        Assert.Equal("h264", probe.Video?.CodecName);
        Assert.Equal("aac", probe.Audio?.CodecName);
        output.WriteLine($"clip {clip.GetProperty("startsAt")} .. {clip.GetProperty("endsAt")}: {durationMs} ms, {segments.Count} segments "
            + $"({segments[0].Number}..{segments[^1].Number}), ffprobe {probe.DurationSeconds:0.000} s");

        // The MP4 download, made after the cut from the stored segments: the same range to the frame, H.264 and AAC.
        await WaitFor.ConditionAsync(async () =>
        {
            answer = await server.Http.GetStringAsync(clipApi);
            return JsonDocument.Parse(answer).RootElement.TryGetProperty("downloadUrl", out _);
        }, TimeSpan.FromSeconds(120), "the clip's MP4 to be made", () => Log(answer), TimeSpan.FromMilliseconds(500));
        using var temp = new TempDirectory("clip-download");
        string mp4 = Path.Combine(temp.Path, "clip.mp4");
        using (var download = await server.Http.GetAsync(JsonDocument.Parse(answer).RootElement.GetProperty("downloadUrl").GetString()))
        {
            Assert.True(download.StatusCode == HttpStatusCode.OK, Log($"the download answered {(int)download.StatusCode}"));
            Assert.Equal("Eight seconds.mp4", download.Content.Headers.ContentDisposition?.FileNameStar);
            await File.WriteAllBytesAsync(mp4, await download.Content.ReadAsByteArrayAsync());
        }
        var file = await FfProbe.ProbeAsync(mp4, timeout: TimeSpan.FromSeconds(60));
        double frame = 1 / file.Video!.FrameRate;
        Assert.InRange(file.DurationSeconds, 8 - frame - 0.03, 8 + frame + 0.03);
        Assert.Equal(("h264", "aac"), (file.Video.CodecName, file.Audio?.CodecName));
        output.WriteLine($"download: {new FileInfo(mp4).Length} bytes, ffprobe {file.DurationSeconds:0.000} s at {file.Video.FrameRate:0.##} fps");

        // 2. The window slides past the clip: the segment before it is deleted by retention, the clip's own stay (the
        //    segment its first piece was cut from among them).
        var (firstName, firstNumber) = segments[0];
        long heldFirst = firstCut ? firstNumber - 1 : firstNumber;
        segments.Insert(0, (firstName.Replace($"-{firstNumber}.m4s", $"-{heldFirst}.m4s", StringComparison.Ordinal), heldFirst));
        string before = $"live/{channel.Slug}/source/{firstName.Replace($"-{firstNumber}.m4s", $"-{heldFirst - 1}.m4s", StringComparison.Ordinal)}";
        await WaitFor.ConditionAsync(async () =>
        {
            using var r = await server.Viewer.GetAsync(before);
            return r.StatusCode == HttpStatusCode.NotFound;
        }, TimeSpan.FromSeconds(90), "retention to delete the segment before the clip", () => Log(before), TimeSpan.FromMilliseconds(500));
        playlist = await server.Viewer.GetStringAsync(live);
        Assert.DoesNotContain(segments[0].Name, playlist, StringComparison.Ordinal);
        foreach (var (name, _) in segments)
        {
            using var r = await server.Viewer.GetAsync($"live/{channel.Slug}/source/{name}");
            Assert.True(r.StatusCode == HttpStatusCode.OK, Log($"the clip's {name} answered {(int)r.StatusCode}"));
        }

        // 3. The broadcast ends: the clip still reads whole and plays in hls.js.
        publisher.Stop();
        await WaitFor.ConditionAsync(async () => (await server.Viewer.GetStringAsync(live)).Contains("#EXT-X-ENDLIST", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60), "the live playlist to end", () => Log(live), TimeSpan.FromMilliseconds(500));
        var after = await FfProbe.ProbeAsync(url.ToString(), timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(probe.DurationSeconds, after.DurationSeconds, 1);

        await using var browser = await BrowserHost.StartAsync();
        await using var player = await browser.OpenAsync(PlayerKind.Hls);
        await player.StartAsync(url.ToString());
        await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => Log("hls.js on the clip"));
        // Past the first piece and its discontinuity into the stored segments.
        await player.WaitForCurrentTimeAsync(4, TimeSpan.FromSeconds(30), () => Log("hls.js playing the clip"));
        Assert.Empty(await player.GetFatalErrorsAsync());

        // 4. The share link: the watch page plays the clip like a recording.
        string watch = await server.Viewer.GetStringAsync($"watch/{channel.Slug}?clip={clip.GetProperty("id").GetString()}");
        Assert.Contains($"data-src=\"{url.AbsolutePath}\"", watch, StringComparison.Ordinal);
        Assert.Contains("Eight seconds", watch, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"#EXTINF:([\d.]+),")]
    private static partial Regex Extinf();

    [GeneratedRegex(@"\.\./\.\./source/([0-9TZ]+-(\d+)\.m4s)")]
    private static partial Regex ClipSegment();
}
