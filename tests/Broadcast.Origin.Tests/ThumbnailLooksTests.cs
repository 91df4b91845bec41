using System.Net;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Origin.Tests;

/// <summary>The origin remembers whose thumbnail it served, the signal that renews a picture at its full rate.</summary>
public sealed class ThumbnailLooksTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 26, 17, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Only_a_channels_thumbnail_is_a_look_and_a_look_is_forgotten_after_ten_minutes()
    {
        ManualClock clock = new(Start);
        ThumbnailLooks looks = new(clock);
        foreach (string key in new[] { "ch/master.m3u8", "ch/v0/thumbnail.jpg", "thumbnail.jpg", "/thumbnail.jpg", "ch/thumbnail.jpgx", "ch/xthumbnail.jpg" })
        {
            looks.Served(key);
        }

        Assert.Equal(0, looks.Count);
        Assert.Null(looks.SinceLastLook("ch"));

        looks.Served("ch/thumbnail.jpg");
        clock.Advance(TimeSpan.FromSeconds(7));
        Assert.Equal(TimeSpan.FromSeconds(7), looks.SinceLastLook("ch"));
        looks.Served("ch/thumbnail.jpg");
        Assert.Equal(TimeSpan.Zero, looks.SinceLastLook("ch"));
        Assert.Null(looks.SinceLastLook("other"));

        clock.Advance(ThumbnailLooks.Forgotten);
        Assert.Null(looks.SinceLastLook("ch"));
    }

    [Fact]
    public void The_table_is_capped_and_makes_room_only_from_forgotten_looks()
    {
        ManualClock clock = new(Start);
        ThumbnailLooks looks = new(clock);
        for (int i = 0; i < ThumbnailLooks.MaxChannels; i++) looks.Served($"c{i}/thumbnail.jpg");
        looks.Served("late/thumbnail.jpg");
        Assert.Equal(ThumbnailLooks.MaxChannels, looks.Count);
        Assert.Null(looks.SinceLastLook("late"));

        // A channel already remembered is renewed even when the table is full.
        clock.Advance(TimeSpan.FromMinutes(6));
        looks.Served("c0/thumbnail.jpg");
        Assert.Equal(TimeSpan.Zero, looks.SinceLastLook("c0"));

        // Five minutes on, every other look is forgotten: a new channel makes room by dropping them.
        clock.Advance(TimeSpan.FromMinutes(5));
        looks.Served("late/thumbnail.jpg");
        Assert.Equal(2, looks.Count);
        Assert.Equal(TimeSpan.Zero, looks.SinceLastLook("late"));
        Assert.Equal(TimeSpan.FromMinutes(5), looks.SinceLastLook("c0"));
    }

    [Fact]
    public async Task A_thumbnail_served_over_http_is_a_look_and_a_404_or_another_object_is_not()
    {
        ManualClock clock = new(Start);
        InMemorySegmentStore store = new();
        store.Seed("ch/thumbnail.jpg", [0xFF, 0xD8, 0xFF, 0xD9], "image/jpeg", "public, max-age=10", Start, "e");
        store.Seed("other/v0/index.m3u8", [1], "", null, Start, "e");
        await using OriginServer server = await OriginServer.StartAsync(store, clock);
        ThumbnailLooks looks = server.Services.GetRequiredService<ThumbnailLooks>();

        using (HttpResponseMessage missing = await server.Client.GetAsync("/live/ghost/thumbnail.jpg"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        using (HttpResponseMessage playlist = await server.Client.GetAsync("/live/other/v0/index.m3u8"))
        {
            Assert.Equal(HttpStatusCode.OK, playlist.StatusCode);
        }

        Assert.Equal(0, looks.Count);
        using (HttpResponseMessage picture = await server.Client.GetAsync("/live/ch/thumbnail.jpg"))
        {
            Assert.Equal(HttpStatusCode.OK, picture.StatusCode);
        }

        Assert.Equal(TimeSpan.Zero, looks.SinceLastLook("ch"));
        Assert.Null(looks.SinceLastLook("ghost"));
    }
}
