using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Events;

/// <summary>
/// The scheduling acceptance test through the real server (child process) and a real encoder (ffmpeg):
/// a RequireSchedule channel with an event whose window opens in ~5 s refuses a publish before and accepts
/// it after; the event's end ends the broadcast, the recording's VOD playlist is final (#EXT-X-ENDLIST), it is
/// listed by the API, and hls.js plays it to its end. Events:PublishLeadSeconds=0 so the window is the event.
/// </summary>
public sealed class ScheduledPublishTests
{
    private static readonly ClipSpec Clip = new() { Seconds = 4, Width = 320, Height = 240, Fps = 30, VideoBitrateKbps = 300 };

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    [Fact]
    public async Task Window_refuses_before_accepts_after_and_its_end_finalises_a_playable_recording()
    {
        var clip = await TestMedia.GetClipAsync(Clip);
        await using var server = await ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments = ["--Events:PublishLeadSeconds=0", "--Events:LateAfterSeconds=30", "--Packager:RecordByDefault=false"],
        });
        string Diagnostics() => server.LogTail(60);
        // The first admin's generated password is printed once by the start-up banner.
        await WaitFor.ConditionAsync(() => Task.FromResult(server.Log.Contains("Dashboard sign-in (shown once")), TimeSpan.FromSeconds(30),
            "the banner to print the first admin's password", Diagnostics);

        using var created = await server.Http.PostAsJsonAsync("/api/channels", new { name = "Scheduled stage", requireSchedule = true });
        var channel = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        var channelId = channel.GetProperty("id").GetString()!;
        var key = channel.GetProperty("streamKey").GetString()!;

        // ~5 s as in the issue, plus one for a loaded machine: the refused attempt must land before the window.
        var startsAt = DateTimeOffset.UtcNow.AddSeconds(6);
        var endsAt = startsAt.AddSeconds(9);
        using var scheduled = await server.Http.PostAsJsonAsync("/api/events",
            new { channelId, title = "Keynote", startsAt = Iso(startsAt), endsAt = Iso(endsAt), record = true });
        Assert.True(scheduled.IsSuccessStatusCode, await scheduled.Content.ReadAsStringAsync());
        var eventId = JsonDocument.Parse(await scheduled.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;

        // Before the window: refused with BadName and a reason naming the next event.
        await using (var early = FfmpegPublisher.Start(clip, server.RtmpUrl(key)))
        {
            var exit = await early.WaitForExitAsync(TimeSpan.FromSeconds(30));
            Assert.True(exit != 0, $"ffmpeg before the window exited {exit}; expected a refusal{Environment.NewLine}{early.Log.Tail(20)}");
        }

        Assert.True(DateTimeOffset.UtcNow < startsAt, "the refused publish must have happened before the window; the machine is too slow for this timing");
        await WaitFor.ConditionAsync(() => Task.FromResult(server.Log.Contains("next event 'Keynote' opens at")), TimeSpan.FromSeconds(10),
            "the refusal reason in the server log", Diagnostics);

        // In the window: accepted. Loop the clip so the encoder is still sending when the event ends.
        await WaitFor.UntilAsync(startsAt, TimeSpan.FromSeconds(30), "the event start");
        await using var publisher = FfmpegPublisher.Start(clip, server.RtmpUrl(key), loops: 5);
        await WaitFor.ConditionAsync(async () => await StateAsync(server, eventId) == "live", TimeSpan.FromSeconds(30), "the event to go live",
            () => Diagnostics() + Environment.NewLine + publisher.Log.Tail(20));

        // The end job ends the event and the broadcast; the recording is stored and listed.
        await WaitFor.ConditionAsync(async () => await StateAsync(server, eventId) == "ended", TimeSpan.FromSeconds(60), "the event to end", Diagnostics);
        JsonElement recording = default;
        await WaitFor.ConditionAsync(async () =>
            {
                var list = JsonDocument.Parse(await server.Http.GetStringAsync($"/api/recordings?channelId={channelId}")).RootElement;
                if (list.GetArrayLength() == 0) return false;
                recording = list[0];
                return true;
            }, TimeSpan.FromSeconds(60), "the recording to be listed", Diagnostics);
        Assert.Equal(eventId, recording.GetProperty("eventId").GetString());
        Assert.True(recording.GetProperty("durationMs").GetInt64() >= 2000, recording.ToString());
        Assert.True(recording.GetProperty("sizeBytes").GetInt64() > 10_000, recording.ToString());

        // The VOD media playlist named by the recording's master is final.
        var masterUrl = new Uri(server.BaseUri, recording.GetProperty("hlsPath").GetString());
        var master = await server.Viewer.GetStringAsync(masterUrl);
        var mediaUri = master.Split('\n').Select(l => l.Trim()).First(l => l.Length > 0 && !l.StartsWith('#'));
        var media = await server.Viewer.GetStringAsync(new Uri(masterUrl, mediaUri));
        Assert.Contains("#EXT-X-ENDLIST", media, StringComparison.Ordinal);
        Assert.Contains("#EXT-X-PLAYLIST-TYPE:VOD", media, StringComparison.Ordinal);
        var mpd = await server.Viewer.GetStringAsync(new Uri(server.BaseUri, recording.GetProperty("dashPath").GetString()));
        Assert.Contains("type=\"static\"", mpd, StringComparison.Ordinal);

        // A publish after the end is refused again.
        await using (var late = FfmpegPublisher.Start(clip, server.RtmpUrl(key)))
        {
            var exit = await late.WaitForExitAsync(TimeSpan.FromSeconds(30));
            Assert.True(exit != 0, $"ffmpeg after the event exited {exit}; expected a refusal{Environment.NewLine}{late.Log.Tail(20)}");
        }

        // hls.js plays the recording to its end.
        await using var browser = await BrowserHost.StartAsync();
        await using var player = await browser.OpenAsync(PlayerKind.Hls);
        await player.StartAsync(masterUrl.ToString());
        await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), Diagnostics);
        await player.WaitForEndedAsync(TimeSpan.FromSeconds(60), Diagnostics);
        Assert.Empty(await player.GetFatalErrorsAsync());
        var duration = recording.GetProperty("durationMs").GetInt64() / 1000.0;
        var end = await player.GetCurrentTimeAsync();
        Assert.True(end >= duration - 1, $"hls.js ended at {end:0.00} s of a {duration:0.00} s recording");
    }

    private static async Task<string?> StateAsync(ServerProcess server, string eventId)
        => JsonDocument.Parse(await server.Http.GetStringAsync($"/api/events/{eventId}")).RootElement.GetProperty("state").GetString();
}
