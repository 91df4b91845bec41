using Broadcast.EndToEnd.Tests.Server;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Reconnect;

/// <summary>
/// An encoder reconnect with a real ladder on the shared server: a 640x480 publish is served as the source, a
/// transcoded 360p rung (ffmpeg) and the audio. ffmpeg is killed (a dropped connection): every rendition's segment in
/// progress is stored at the drop, before any reconnect, with the same number everywhere; after the same key publishes
/// again 5 s later, every rendition continues with the next number behind one discontinuity, and no segment spans the
/// gap (EXT-X-TARGETDURATION stays the 2 s target).
/// </summary>
[Collection(ViewerServerCollection.Name)]
public sealed class ReconnectLadderTests(ServerFixture fixture)
{
    private static readonly ClipSpec Clip = new() { Seconds = 10, Width = 640, Height = 480, Fps = 30, VideoBitrateKbps = 500 };
    private static readonly string[] Renditions = ["source", "360p", "audio"];

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Every_rendition_stores_its_segment_at_the_drop_and_rejoins_aligned()
    {
        var clip = await TestMedia.GetClipAsync(Clip);
        var channel = await Server.Api.CreateChannelAsync($"reconnect ladder {Guid.NewGuid():N}");
        var playlists = new Dictionary<string, string>();
        string Describe() => string.Join("\n", playlists.Select(p => $"--- {p.Key}\n{p.Value}"));
        async Task<bool> AllAsync(Func<string, string, bool> condition)
        {
            foreach (var r in Renditions) playlists[r] = await GetAsync(Server.Absolute($"/live/{channel.Slug}/{r}/index.m3u8")) ?? "";
            return Renditions.All(r => condition(r, playlists[r]));
        }

        long lastBeforeDrop;
        await using (var first = FfmpegPublisher.Start(clip, Server.RtmpUrl(channel.StreamKey), loops: 5))
        {
            await WaitFor.ConditionAsync(() => AllAsync((_, text) => Playlists.Numbers(text).Count >= 3), TimeSpan.FromSeconds(90),
                "three segments in the source, the 360p rung and the audio", () => fixture.WithLog($"{Describe()}\n{first.Log.Tail(15)}"));
            lastBeforeDrop = Playlists.Numbers(playlists["source"])[^1];
            // Killed: the connection drops without FCUnpublish/deleteStream.
            first.Stop();
        }
        await WaitFor.ConditionAsync(async () => await Playlists.IsReconnectingAsync(Server, channel.Id),
            TimeSpan.FromSeconds(30), "the channel to show as reconnecting", () => fixture.WithLog(""));

        // At the drop, before any reconnect: the segment each rendition had open is stored, under one number.
        long atDrop = 0;
        await WaitFor.ConditionAsync(() => AllAsync((r, text) =>
            {
                var numbers = Playlists.Numbers(text);
                if (r == "source") atDrop = numbers.Count > 0 ? numbers[^1] : 0;
                return numbers.Count > 0 && numbers[^1] > lastBeforeDrop && numbers[^1] == atDrop;
            }), TimeSpan.FromSeconds(30), "every rendition to store its segment in progress at the drop", () => fixture.WithLog(Describe()));
        fixture.Check(Renditions.All(r => !playlists[r].Contains("#EXT-X-ENDLIST", StringComparison.Ordinal)), $"a playlist ended during the grace:\n{Describe()}");

        // The scenario's gap (the encoder is away 5 s), not a synchronisation wait.
        await Task.Delay(TimeSpan.FromSeconds(5));
        await using var second = FfmpegPublisher.Start(clip, Server.RtmpUrl(channel.StreamKey), loops: 5);
        await WaitFor.ConditionAsync(() => AllAsync((_, text) =>
            {
                int at = text.IndexOf("#EXT-X-DISCONTINUITY\n", StringComparison.Ordinal);
                return at >= 0 && Playlists.Numbers(text[at..]).Count >= 3;
            }), TimeSpan.FromSeconds(90), "three segments after the join in every rendition", () => fixture.WithLog($"{Describe()}\n{second.Log.Tail(15)}"));

        foreach (var r in Renditions)
        {
            var text = playlists[r];
            fixture.Check(Playlists.Discontinuities(text) == 1, $"{r}: expected one discontinuity\n{Describe()}");
            var after = Playlists.Numbers(text[text.IndexOf("#EXT-X-DISCONTINUITY\n", StringComparison.Ordinal)..]);
            fixture.Check(after[0] == atDrop + 1, $"{r}: the join is not at segment {atDrop + 1}\n{Describe()}");
            var numbers = Playlists.Numbers(text);
            fixture.Check(numbers.Zip(numbers.Skip(1)).All(p => p.Second == p.First + 1), $"{r}: numbers not contiguous\n{Describe()}");
            fixture.Check(text.Contains("#EXT-X-TARGETDURATION:2\n", StringComparison.Ordinal), $"{r}: a segment spans the gap\n{Describe()}");
            fixture.Check(Playlists.Durations(text).All(d => d <= 2.6), $"{r}: a segment spans the gap\n{Describe()}");
        }
        second.Stop();
    }

    private async Task<string?> GetAsync(Uri url)
    {
        using var response = await Server.Viewer.GetAsync(url);
        return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : null;
    }
}
