using System.Net;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Server;

/// <summary>
/// A live channel's thumbnail: ffmpeg publishes a moving test picture, the origin serves /live/{slug}/thumbnail.jpg as
/// a JPEG within 15 s of the publish, cacheable for the refresh period, and a later one shows a different picture.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class ThumbnailTests(ServerFixture fixture)
{
    private static readonly ClipSpec Clip = new() { Seconds = 30, Width = 640, Height = 360, Fps = 30, VideoBitrateKbps = 600 };

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task A_live_channel_has_a_jpeg_thumbnail_within_15_s_that_changes_with_the_picture()
    {
        var clip = await TestMedia.GetClipAsync(Clip);
        var channel = await Server.Api.CreateChannelAsync($"thumbnail {Guid.NewGuid():N}");
        string path = $"live/{channel.Slug}/thumbnail.jpg";
        await using var publisher = FfmpegPublisher.Start(clip, Server.RtmpUrl(channel.StreamKey));

        byte[] first = [];
        await WaitFor.ConditionAsync(async () =>
        {
            using var response = await Server.Viewer.GetAsync(path);
            if (response.StatusCode != HttpStatusCode.OK) return false;
            Assert.Equal("image/jpeg", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(TimeSpan.FromSeconds(10), response.Headers.CacheControl?.MaxAge);
            first = await response.Content.ReadAsByteArrayAsync();
            return true;
        }, TimeSpan.FromSeconds(15), $"{path} within 15 s of the publish", () => fixture.WithLog(publisher.Log.Tail(10)));
        Assert.True(first.Length > 1000 && first[0] == 0xFF && first[1] == 0xD8, $"not a JPEG: {first.Length} bytes");
        var (width, height) = JpegInfo.Size(first);
        Assert.Equal(360, height);
        Assert.Equal(640, width);

        // The test source moves every frame: the next thumbnail (one refresh period later) is another picture.
        await WaitFor.ConditionAsync(async () =>
        {
            using var response = await Server.Viewer.GetAsync(path);
            return response.StatusCode == HttpStatusCode.OK && !(await response.Content.ReadAsByteArrayAsync()).AsSpan().SequenceEqual(first);
        }, TimeSpan.FromSeconds(30), "a newer thumbnail", () => fixture.WithLog(publisher.Log.Tail(10)), pollInterval: TimeSpan.FromSeconds(1));
    }
}
