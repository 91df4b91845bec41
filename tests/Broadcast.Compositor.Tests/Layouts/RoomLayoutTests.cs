using Broadcast.Compositor.Layouts;

namespace Broadcast.Compositor.Tests.Layouts;

/// <summary>The layout that follows a room's membership, checked through the planner (it must draw on the canvas).</summary>
public sealed class RoomLayoutTests
{
    private static readonly PixelSize Canvas = new(1280, 720);

    [Theory]
    [InlineData(1, LayoutKind.Single)]
    [InlineData(2, LayoutKind.SideBySide)]
    [InlineData(3, LayoutKind.Grid)]
    [InlineData(4, LayoutKind.Grid)]
    public void Cameras_fill_one_two_or_a_grid(int count, LayoutKind kind)
    {
        var tiles = Enumerable.Range(1, count).Select(i => new RoomTile($"room{i}", IsScreen: false)).ToList();
        var layout = RoomLayout.For(tiles, Canvas);
        Assert.Equal(kind, layout.Kind);
        Assert.Equal(tiles.Select(t => t.InputId), layout.Inputs.Select(i => i.InputId));
        Assert.All(layout.Inputs, i => Assert.Equal(FitMode.Fill, i.Fit));
        var plan = LayoutPlanner.Plan(layout, Canvas, tiles.ToDictionary(t => t.InputId, _ => (PixelSize?)new PixelSize(640, 480)));
        Assert.Equal(count, plan.Tiles.Count);
    }

    [Fact]
    public void A_screen_share_takes_the_large_place_with_the_cameras_in_a_column_beside_it()
    {
        var layout = RoomLayout.For([new RoomTile("room1", false), new RoomTile("room2", true), new RoomTile("room3", false)], Canvas);
        Assert.Equal(LayoutKind.Free, layout.Kind);
        var share = layout.Inputs[0];
        Assert.Equal("room2", share.InputId);
        Assert.Equal(FitMode.Fit, share.Fit);
        Assert.Equal(new PixelRect(0, 0, 960, 720), share.Rect);
        Assert.Equal(new PixelRect(960, 0, 320, 240), layout.Inputs[1].Rect);
        Assert.Equal(new PixelRect(960, 240, 320, 240), layout.Inputs[2].Rect);
        LayoutPlanner.Plan(layout, Canvas, layout.Inputs.ToDictionary(i => i.InputId, _ => (PixelSize?)null));
    }

    [Fact]
    public void A_screen_share_alone_fills_the_frame_whole_and_an_empty_room_has_no_layout()
    {
        var layout = RoomLayout.For([new RoomTile("room1", true)], Canvas);
        Assert.Equal(LayoutKind.Single, layout.Kind);
        Assert.Equal(FitMode.Fit, layout.Inputs[0].Fit);
        Assert.Throws<ArgumentException>(() => RoomLayout.For([], Canvas));
    }
}
