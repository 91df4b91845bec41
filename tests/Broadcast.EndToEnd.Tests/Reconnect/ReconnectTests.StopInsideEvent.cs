using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Reconnect;

public sealed partial class ReconnectTests
{
    /// <summary>
    /// During a scheduled event, an operator stops the encoder cleanly (ffmpeg ends its file: FCUnpublish, deleteStream)
    /// and starts it again 5 s later with the same key: one broadcast goes on (one discontinuity, the numbers carry on),
    /// hls.js plays through, there is one recording; "End broadcast" then ends it at once.
    /// </summary>
    [Fact]
    public async Task A_clean_stop_inside_a_scheduled_event_is_not_the_end_of_the_show()
    {
        var clip = await TestMedia.GetClipAsync(Clip);
        var channel = await Server.Api.CreateChannelAsync($"event stop {Guid.NewGuid():N}");
        var now = DateTimeOffset.UtcNow;
        using (var created = await Server.Http.PostAsJsonAsync("api/events", new
               {
                   channelId = channel.Id,
                   title = "Keynote",
                   startsAt = now.AddSeconds(2).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
                   endsAt = now.AddMinutes(10).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
                   record = true,
               }))
        {
            fixture.Check(created.StatusCode == HttpStatusCode.Created, $"POST /api/events -> {(int)created.StatusCode}: {await created.Content.ReadAsStringAsync()}");
        }

        var master = Server.Absolute($"/live/{channel.Slug}/master.m3u8");
        var media = Server.Absolute($"/live/{channel.Slug}/source/index.m3u8");
        string lastPlaylist = "";
        var browser = await fixture.BrowserAsync();
        await using var player = await browser.OpenAsync(PlayerKind.Hls);

        // The first run plays its 10 s file once and ends it: ffmpeg's clean stop.
        await using (var first = FfmpegPublisher.Start(clip, Server.RtmpUrl(channel.StreamKey)))
        {
            await WaitFor.ConditionAsync(async () => (await GetAsync(master)) is not null, TimeSpan.FromSeconds(60),
                "the master playlist while publishing", () => fixture.WithLog(first.Log.Tail(15)));
            await player.StartAsync(master.ToString());
            await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => fixture.WithLog(""));
            await WaitFor.ConditionAsync(async () => (await Server.Api.GetChannelAsync(channel.Id)).Raw?["live"]?["reconnecting"]?.GetValue<bool>() == true,
                TimeSpan.FromSeconds(60), "the stopped broadcast to wait for its encoder", () => fixture.WithLog(first.Log.Tail(15)));
            fixture.Check(await first.WaitForExitAsync(TimeSpan.FromSeconds(30)) == 0, $"ffmpeg did not end its file cleanly:\n{first.Log.Tail(10)}");
        }

        lastPlaylist = await GetAsync(media) ?? "";
        fixture.Check(!lastPlaylist.Contains("#EXT-X-ENDLIST", StringComparison.Ordinal), $"the playlist ended at a stop inside the event:\n{lastPlaylist}");

        // The scenario's gap (the operator changes a setting), not a synchronisation wait.
        await Task.Delay(TimeSpan.FromSeconds(5));
        await using var second = FfmpegPublisher.Start(clip, Server.RtmpUrl(channel.StreamKey), loops: 5);
        string joined = await WaitForSegmentsAfterJoinAsync(media, 2, second);
        lastPlaylist = joined;
        fixture.Check(Count(joined, "#EXT-X-DISCONTINUITY\n") == 1, $"expected exactly one discontinuity:\n{joined}");
        var numbers = SegmentNumbers(joined);
        fixture.Check(numbers.Zip(numbers.Skip(1)).All(p => p.Second == p.First + 1), $"segment numbers not contiguous across the restart:\n{joined}");

        // hls.js plays across the restart.
        var atJoin = await player.GetCurrentTimeAsync();
        await player.WaitForCurrentTimeAsync(atJoin + 4, TimeSpan.FromSeconds(60), () => fixture.WithLog($"{lastPlaylist}\n{second.Log.Tail(10)}"));
        var fatal = await player.GetFatalErrorsAsync();
        fixture.Check(fatal.Count == 0, $"hls.js fatal errors: {string.Join("; ", fatal)}\n{await player.DescribeAsync()}");

        // "End broadcast": the show ends now, inside its event.
        using (var ended = await Server.Http.PostAsync($"api/channels/{channel.Id}/end-broadcast", null))
        {
            fixture.Check(ended.StatusCode == HttpStatusCode.NoContent, $"end-broadcast -> {(int)ended.StatusCode}: {await ended.Content.ReadAsStringAsync()}");
        }

        await WaitFor.ConditionAsync(async () => (await GetAsync(media))?.Contains("#EXT-X-ENDLIST", StringComparison.Ordinal) == true, TimeSpan.FromSeconds(30),
            "the playlist to end after End broadcast", () => fixture.WithLog(""));
        IReadOnlyList<RecordingInfo> recordings = [];
        await WaitFor.ConditionAsync(async () => (recordings = await Server.Api.ListRecordingsAsync(channel.Id)).Count >= 1, TimeSpan.FromSeconds(30),
            "the broadcast's recording", () => fixture.WithLog(""));
        fixture.Check(recordings.Count == 1, $"one broadcast, one recording; found {recordings.Count}");
        using (var again = await Server.Http.PostAsync($"api/channels/{channel.Id}/end-broadcast", null))
        {
            fixture.Check(again.StatusCode == HttpStatusCode.Conflict, $"a second end-broadcast -> {(int)again.StatusCode}");
        }
    }
}
