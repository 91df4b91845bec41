using System.Text.RegularExpressions;
using Broadcast.EndToEnd.Tests.Server;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Reconnect;

/// <summary>
/// An encoder that drops and reconnects with the same stream key within <c>Ingest:ReconnectGraceSeconds</c>: the
/// shared server's default grace (30 s) covers the 5 s gap, so this runs on the shared fixture. ffmpeg publishes in
/// real time, hls.js plays, ffmpeg is killed (no unpublish command: a dropped connection) and publishes again 5 s
/// later. The player must keep going without a fatal error, and the media playlist must carry exactly one
/// discontinuity with contiguous segment numbers. Expiry of the grace (ENDLIST) is covered by the packager's
/// ReconnectJoinTests with a manual clock, so the shared server is not held for 30 s more.
/// </summary>
[Collection(ViewerServerCollection.Name)]
public sealed partial class ReconnectTests(ServerFixture fixture)
{
    // 320x240 stays below every ladder rung: the source and audio are packaged as published.
    private static readonly ClipSpec Clip = new() { Seconds = 10, Width = 320, Height = 240, Fps = 30, VideoBitrateKbps = 300 };

    private ServerProcess Server => fixture.Server;

    [Fact]
    public Task Hls_keeps_playing_across_an_encoder_reconnect_with_one_discontinuity() =>
        KeepsPlayingAcrossReconnectAsync("reconnect-hls", (clip, channel) => FfmpegPublisher.Start(clip, Server.RtmpUrl(channel.StreamKey), loops: 5));

    /// <summary>
    /// The same over SRT, through the URL the channel API gives: an SRT connection has no unpublish, and a killed caller
    /// is noticed when libsrt's peer idle timeout (5 s) passes.
    /// </summary>
    [Fact]
    public Task Hls_keeps_playing_across_an_srt_encoder_reconnect_with_one_discontinuity() =>
        KeepsPlayingAcrossReconnectAsync("reconnect-srt", (clip, channel) => SrtPublisher.StartClip(clip,
            channel.SrtUrl ?? throw new InvalidOperationException("the channel API gave no srtUrl although Srt:Port is set"), loops: 5));

    private async Task KeepsPlayingAcrossReconnectAsync(string name, Func<string, ChannelInfo, RtmpPublisher> startPublisher)
    {
        var clip = await TestMedia.GetClipAsync(Clip);
        var channel = await Server.Api.CreateChannelAsync($"{name} {Guid.NewGuid():N}");
        var master = Server.Absolute($"/live/{channel.Slug}/master.m3u8");
        var media = Server.Absolute($"/live/{channel.Slug}/source/index.m3u8");
        var seen = new SortedSet<long>();
        string lastPlaylist = "";

        await using (var first = startPublisher(clip, channel))
        {
            await WaitFor.ConditionAsync(async () => (await GetAsync(master)) is not null, TimeSpan.FromSeconds(60),
                "the master playlist while publishing", () => fixture.WithLog(first.Log.Tail(15)));
            var browser = await fixture.BrowserAsync();
            await using var player = await browser.OpenAsync(PlayerKind.Hls);
            await player.StartAsync(master.ToString());
            try
            {
                await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => fixture.WithLog(""));
                var before = await player.GetCurrentTimeAsync();
                await player.WaitForCurrentTimeAsync(before + 3, TimeSpan.FromSeconds(45), () => fixture.WithLog(""));

                // Killed: the connection drops without FCUnpublish/deleteStream.
                first.Stop();
                await WaitFor.ConditionAsync(async () => (await Server.Api.GetChannelAsync(channel.Id)).Raw?["live"]?["reconnecting"]?.GetValue<bool>() == true,
                    TimeSpan.FromSeconds(30), "the channel to show as reconnecting", () => fixture.WithLog(""));
                lastPlaylist = await GetAsync(media) ?? "";
                fixture.Check(!lastPlaylist.Contains("#EXT-X-ENDLIST", StringComparison.Ordinal), $"the playlist ended during the grace:\n{lastPlaylist}");

                // The scenario's gap (the encoder is away 5 s), not a synchronisation wait.
                await Task.Delay(TimeSpan.FromSeconds(5));
                await using var second = startPublisher(clip, channel);

                // Poll the media playlist until three segments follow the join, recording every number seen.
                string joined = await WaitForSegmentsAfterJoinAsync(media, 3, second, text => { foreach (var n in SegmentNumbers(text)) seen.Add(n); });
                lastPlaylist = joined;

                fixture.Check(Count(joined, "#EXT-X-DISCONTINUITY\n") == 1, $"expected exactly one discontinuity:\n{joined}");
                fixture.Check(joined.Contains("#EXT-X-DISCONTINUITY-SEQUENCE:0\n", StringComparison.Ordinal), $"the join is still in the window:\n{joined}");
                var numbers = SegmentNumbers(joined);
                long sequence = long.Parse(MediaSequence().Match(joined).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                fixture.Check(numbers[0] == sequence && numbers.Zip(numbers.Skip(1)).All(p => p.Second == p.First + 1),
                    $"segment numbers not contiguous from EXT-X-MEDIA-SEQUENCE {sequence}: {string.Join(",", numbers)}\n{joined}");
                fixture.Check(seen.Max - seen.Min + 1 == seen.Count, $"a number was skipped across the join: {string.Join(",", seen)}");

                // The player goes on past the join.
                var atJoin = await player.GetCurrentTimeAsync();
                await player.WaitForCurrentTimeAsync(atJoin + 6, TimeSpan.FromSeconds(60),
                    () => fixture.WithLog($"{lastPlaylist}\n{second.Log.Tail(10)}"));
                var fatal = await player.GetFatalErrorsAsync();
                fixture.Check(fatal.Count == 0, $"hls.js fatal errors: {string.Join("; ", fatal)}\n{await player.DescribeAsync()}");
                second.Stop();
            }
            catch
            {
                await player.ScreenshotAsync(Path.Combine(AppContext.BaseDirectory, "artifacts", name + ".png"));
                throw;
            }
        }
    }

    /// <summary>
    /// Polls <paramref name="media"/> until <paramref name="count"/> segments follow its discontinuity (the join) and
    /// returns that playlist; <paramref name="seen"/> gets every playlist read on the way.
    /// </summary>
    private async Task<string> WaitForSegmentsAfterJoinAsync(Uri media, int count, RtmpPublisher publisher, Action<string>? seen = null)
    {
        string last = "";
        string? joined = null;
        await WaitFor.ConditionAsync(async () =>
        {
            var text = await GetAsync(media);
            if (text is null) return false;
            last = text;
            seen?.Invoke(text);
            int at = text.IndexOf("#EXT-X-DISCONTINUITY\n", StringComparison.Ordinal);
            if (at < 0 || SegmentNumbers(text[at..]).Count < count) return false;
            joined = text;
            return true;
        }, TimeSpan.FromSeconds(90), $"{count} segments after the join", () => fixture.WithLog($"{last}\n{publisher.Log.Tail(15)}"),
            pollInterval: TimeSpan.FromMilliseconds(500));
        return joined!;
    }

    private async Task<string?> GetAsync(Uri url)
    {
        using var response = await Server.Viewer.GetAsync(url);
        return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : null;
    }

    private static List<long> SegmentNumbers(string playlist) =>
        SegmentName().Matches(playlist).Select(m => long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();

    private static int Count(string text, string what) => Regex.Matches(text, Regex.Escape(what)).Count;

    [GeneratedRegex(@"^\w+-(\d+)\.m4s$", RegexOptions.Multiline)]
    private static partial Regex SegmentName();

    [GeneratedRegex(@"#EXT-X-MEDIA-SEQUENCE:(\d+)")]
    private static partial Regex MediaSequence();
}
