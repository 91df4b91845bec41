using System.Diagnostics;
using System.Text.RegularExpressions;
using Broadcast.EndToEnd.Tests.Server;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Reconnect;

/// <summary>
/// An encoder whose network changed: its old connection stays open but sends nothing (ffmpeg stopped with SIGSTOP), and it
/// comes back on a new connection with the same key, retrying every 2 s as OBS does. The new connection takes the channel
/// once the old one has been silent for <c>Ingest:TakeoverSilenceMilliseconds</c> (1.5 s): accepted within 3 s of the
/// freeze and the media playlist moving again within 8 s, where the old connection used to hold the key until
/// <c>Rtmp:IdleTimeoutSeconds</c> (30 s). RTMP and SRT.
/// </summary>
[Collection(ViewerServerCollection.Name)]
public sealed partial class PublisherTakeoverTests(ServerFixture fixture)
{
    private static readonly ClipSpec Clip = new() { Seconds = 10, Width = 320, Height = 240, Fps = 30, VideoBitrateKbps = 300 };

    private ServerProcess Server => fixture.Server;

    [Fact]
    public Task An_rtmp_encoder_back_on_a_new_connection_takes_its_channel_from_its_frozen_one() =>
        TakesOverAsync("takeover-rtmp", (clip, channel) => FfmpegPublisher.Start(clip, Server.RtmpUrl(channel.StreamKey), loops: 10));

    [Fact]
    public Task An_srt_encoder_back_on_a_new_connection_takes_its_channel_from_its_frozen_one() =>
        TakesOverAsync("takeover-srt", (clip, channel) => SrtPublisher.StartClip(clip,
            channel.SrtUrl ?? throw new InvalidOperationException("the channel API gave no srtUrl although Srt:Port is set"), loops: 10));

    private async Task TakesOverAsync(string name, Func<string, ChannelInfo, RtmpPublisher> startPublisher)
    {
        var clip = await TestMedia.GetClipAsync(Clip);
        var channel = await Server.Api.CreateChannelAsync($"{name} {Guid.NewGuid():N}");
        var media = Server.Absolute($"/live/{channel.Slug}/source/index.m3u8");
        await using var frozen = startPublisher(clip, channel);
        await WaitFor.ConditionAsync(async () => NewestSegment(await GetAsync(media)) >= 1, TimeSpan.FromSeconds(60),
            "two segments from the first connection", () => fixture.WithLog(frozen.Log.Tail(15)));

        frozen.Process.Freeze();
        var clock = Stopwatch.StartNew();
        long before = NewestSegment(await GetAsync(media));
        RtmpPublisher? back = null;
        TimeSpan acceptedAfter = TimeSpan.Zero;
        int attempts = 0;
        try
        {
            // OBS's reconnect: a new connection every 2 s until one is taken (at most 30 s here).
            while (back is null && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                var attemptAt = clock.Elapsed;
                attempts++;
                var candidate = startPublisher(clip, channel);
                // A refused publish ends ffmpeg within a moment; one that is still running 1.5 s later was taken.
                bool refused = await ExitsWithinAsync(candidate, TimeSpan.FromSeconds(1.5));
                if (!refused)
                {
                    back = candidate;
                    acceptedAfter = attemptAt;
                    break;
                }
                await candidate.DisposeAsync();
                var next = attemptAt + TimeSpan.FromSeconds(2) - clock.Elapsed;
                if (next > TimeSpan.Zero) await Task.Delay(next); // the encoder's retry interval, not a wait for a condition
            }
            fixture.Check(back is not null, $"no reconnect was taken within 30 s ({attempts} attempts)");
            fixture.Check(acceptedAfter <= TimeSpan.FromSeconds(3),
                $"the reconnect was taken {acceptedAfter.TotalSeconds:F1} s after the freeze (attempt {attempts}); at most 3 s expected");

            // The playlist moves again: a segment past those of the frozen connection, within 8 s of the freeze.
            await WaitFor.ConditionAsync(async () => NewestSegment(await GetAsync(media)) > before, TimeSpan.FromSeconds(30),
                "a new segment after the takeover", () => fixture.WithLog(back!.Log.Tail(15)), pollInterval: TimeSpan.FromMilliseconds(200));
            var moved = clock.Elapsed;
            fixture.Check(moved <= TimeSpan.FromSeconds(8), $"the playlist moved {moved.TotalSeconds:F1} s after the freeze; at most 8 s expected");
            var playlist = await GetAsync(media) ?? "";
            fixture.Check(!playlist.Contains("#EXT-X-ENDLIST", StringComparison.Ordinal), $"the broadcast ended at the takeover:\n{playlist}");
            fixture.Check(!back!.HasExited, $"the new connection was dropped:\n{back.Log.Tail(15)}");
        }
        finally
        {
            frozen.Stop();
            if (back is not null) await back.DisposeAsync();
        }
    }

    private static async Task<bool> ExitsWithinAsync(RtmpPublisher publisher, TimeSpan time)
    {
        try
        {
            await publisher.WaitForExitAsync(time);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private async Task<string?> GetAsync(Uri url)
    {
        using var response = await Server.Viewer.GetAsync(url);
        return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : null;
    }

    /// <summary>The number of the playlist's newest segment (the window slides, so its length says nothing), or -1.</summary>
    private static long NewestSegment(string? playlist) => playlist is null ? -1
        : SegmentLine().Matches(playlist).Select(m => long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(-1).Max();

    [GeneratedRegex(@"^\w+-(\d+)\.m4s$", RegexOptions.Multiline)]
    private static partial Regex SegmentLine();
}
