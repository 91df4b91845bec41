using Broadcast.Compositor.Layouts;

namespace Broadcast.Compositor.Tests.Layouts;

public sealed class LayoutPlannerTests
{
    private static readonly PixelSize Hd = new(1280, 720);

    private static readonly Dictionary<string, PixelSize?> Sources = new()
    {
        ["wide"] = new PixelSize(1280, 720),
        ["square"] = new PixelSize(480, 480),
        ["tall"] = new PixelSize(720, 1280),
        ["gone"] = null,
        ["logo"] = new PixelSize(200, 100),
    };

    /// <summary>name, layout, expected input tiles as (id, cell, content, crop, z).</summary>
    public static TheoryData<string, ProgramLayout, (string Id, PixelRect Cell, PixelRect Content, PixelRect Crop, int Z)[]> Cases() => new()
    {
        { "single, same aspect", new(LayoutKind.Single, [new("wide")]),
            [("wide", R(0, 0, 1280, 720), R(0, 0, 1280, 720), R(0, 0, 1280, 720), 0)] },
        { "single, square fitted: pillarbox", new(LayoutKind.Single, [new("square")]),
            [("square", R(0, 0, 1280, 720), R(280, 0, 720, 720), R(0, 0, 480, 480), 0)] },
        { "single, square filled: top and bottom cropped", new(LayoutKind.Single, [new("square", FitMode.Fill)]),
            [("square", R(0, 0, 1280, 720), R(0, 0, 1280, 720), R(0, 104, 480, 270), 0)] },
        { "single, portrait fitted", new(LayoutKind.Single, [new("tall")]),
            [("tall", R(0, 0, 1280, 720), R(438, 0, 404, 720), R(0, 0, 720, 1280), 0)] },
        { "single, missing input is a placeholder", new(LayoutKind.Single, [new("gone")]),
            [("gone", R(0, 0, 1280, 720), R(0, 0, 1280, 720), default, 0)] },
        { "side by side, 16:9 in half cells: letterboxed", new(LayoutKind.SideBySide, [new("wide"), new("square")]),
            [("wide", R(0, 0, 640, 720), R(0, 180, 640, 360), R(0, 0, 1280, 720), 0),
             ("square", R(640, 0, 640, 720), R(640, 40, 640, 640), R(0, 0, 480, 480), 0)] },
        { "side by side, filled", new(LayoutKind.SideBySide, [new("wide", FitMode.Fill), new("square", FitMode.Fill)]),
            [("wide", R(0, 0, 640, 720), R(0, 0, 640, 720), R(320, 0, 640, 720), 0),
             ("square", R(640, 0, 640, 720), R(640, 0, 640, 720), R(26, 0, 426, 480), 0)] },
        { "picture in picture, bottom right", new(LayoutKind.PictureInPicture, [new("wide"), new("square", FitMode.Fill)]) { InsetWidthPerMille = 250, InsetMargin = 20 },
            [("wide", R(0, 0, 1280, 720), R(0, 0, 1280, 720), R(0, 0, 1280, 720), 0),
             ("square", R(940, 520, 320, 180), R(940, 520, 320, 180), R(0, 104, 480, 270), 1)] },
        { "picture in picture, top left, odd margin snapped even", new(LayoutKind.PictureInPicture, [new("wide"), new("wide")]) { InsetCorner = Corner.TopLeft, InsetWidthPerMille = 300, InsetMargin = 15 },
            [("wide", R(0, 0, 1280, 720), R(0, 0, 1280, 720), R(0, 0, 1280, 720), 0),
             ("wide", R(14, 14, 384, 216), R(14, 14, 384, 216), R(0, 0, 1280, 720), 1)] },
        { "grid of three: 2x2, last cell empty", new(LayoutKind.Grid, [new("wide"), new("wide"), new("gone")]),
            [("wide", R(0, 0, 640, 360), R(0, 0, 640, 360), R(0, 0, 1280, 720), 0),
             ("wide", R(640, 0, 640, 360), R(640, 0, 640, 360), R(0, 0, 1280, 720), 0),
             ("gone", R(0, 360, 640, 360), R(0, 360, 640, 360), default, 0)] },
        { "grid of one fills", new(LayoutKind.Grid, [new("wide")]),
            [("wide", R(0, 0, 1280, 720), R(0, 0, 1280, 720), R(0, 0, 1280, 720), 0)] },
        { "free, ordered by z, odd rect snapped even", new(LayoutKind.Free, [new("wide", Rect: R(101, 51, 400, 225), Z: 5), new("square", Rect: R(0, 0, 1280, 720), Z: 1)]),
            [("square", R(0, 0, 1280, 720), R(280, 0, 720, 720), R(0, 0, 480, 480), 1),
             ("wide", R(100, 50, 400, 226), R(100, 50, 400, 224), R(0, 0, 1280, 720), 5)] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Plans_tiles(string name, ProgramLayout layout, (string Id, PixelRect Cell, PixelRect Content, PixelRect Crop, int Z)[] expected)
    {
        var plan = LayoutPlanner.Plan(layout, Hd, Sources);
        var actual = plan.Tiles.Select(t => (t.SourceId, t.Cell, t.Content, t.Crop, t.Z)).ToArray();
        Assert.True(expected.SequenceEqual(actual), $"{name}: {string.Join("; ", actual)}");
        foreach (var tile in plan.Tiles)
        {
            foreach (var rect in new[] { tile.Cell, tile.Content })
            {
                Assert.True(rect.LiesWithin(Hd), $"{name}: {rect} off canvas");
                Assert.True(rect.X % 2 == 0 && rect.Y % 2 == 0 && rect.Width % 2 == 0 && rect.Height % 2 == 0, $"{name}: {rect} not even");
            }

            Assert.True(tile.Content.X >= tile.Cell.X && tile.Content.Right <= tile.Cell.Right && tile.Content.Y >= tile.Cell.Y && tile.Content.Bottom <= tile.Cell.Bottom, $"{name}: content outside its cell");
        }
    }

    [Fact]
    public void Overlays_come_last_fitted_in_their_rect_and_an_absent_image_is_left_out()
    {
        var sources = new Dictionary<string, PixelSize?>(Sources) { ["later"] = null };
        var layout = new ProgramLayout(LayoutKind.Single, [new("wide")]) { Overlays = [new("logo", R(1000, 20, 200, 200)), new("later", R(0, 0, 100, 100))] };
        var plan = LayoutPlanner.Plan(layout, Hd, sources);
        Assert.Equal(2, plan.Tiles.Count);
        var logo = plan.Tiles[1];
        Assert.Equal(TileKind.Overlay, logo.Kind);
        Assert.Equal(R(1000, 70, 200, 100), logo.Content);
        Assert.Equal(R(0, 0, 200, 100), logo.Crop);
        Assert.True(logo.Z > plan.Tiles[0].Z);
    }

    /// <summary>name, layout, the field the error names.</summary>
    public static TheoryData<string, ProgramLayout, string> Invalid() => new()
    {
        { "unknown input", new(LayoutKind.SideBySide, [new("wide"), new("cam9")]), "inputs[1].id" },
        { "empty input id", new(LayoutKind.Single, [new("")]), "inputs[0].id" },
        { "single with two", new(LayoutKind.Single, [new("wide"), new("wide")]), "inputs" },
        { "side by side with one", new(LayoutKind.SideBySide, [new("wide")]), "inputs" },
        { "grid of five", new(LayoutKind.Grid, [new("wide"), new("wide"), new("wide"), new("wide"), new("wide")]), "inputs" },
        { "grid of none", new(LayoutKind.Grid, []), "inputs" },
        { "pip of one", new(LayoutKind.PictureInPicture, [new("wide")]), "inputs" },
        { "pip inset size zero", new(LayoutKind.PictureInPicture, [new("wide"), new("wide")]) { InsetWidthPerMille = 0 }, "insetWidthPerMille" },
        { "pip inset over full width", new(LayoutKind.PictureInPicture, [new("wide"), new("wide")]) { InsetWidthPerMille = 1001 }, "insetWidthPerMille" },
        { "pip negative margin", new(LayoutKind.PictureInPicture, [new("wide"), new("wide")]) { InsetMargin = -2 }, "insetMargin" },
        { "pip margin pushes the inset off", new(LayoutKind.PictureInPicture, [new("wide"), new("wide")]) { InsetWidthPerMille = 900, InsetMargin = 200 }, "insetMargin" },
        { "pip unknown corner", new(LayoutKind.PictureInPicture, [new("wide"), new("wide")]) { InsetCorner = (Corner)9 }, "insetCorner" },
        { "free without rect", new(LayoutKind.Free, [new("wide")]), "inputs[0].rect" },
        { "free rect off canvas", new(LayoutKind.Free, [new("wide", Rect: R(1200, 0, 200, 100))]), "inputs[0].rect" },
        { "free rect negative", new(LayoutKind.Free, [new("wide", Rect: R(-2, 0, 200, 100))]), "inputs[0].rect" },
        { "free rect zero width", new(LayoutKind.Free, [new("wide", Rect: R(0, 0, 0, 100))]), "inputs[0].rect" },
        { "free rect below a chroma block", new(LayoutKind.Free, [new("wide", Rect: R(2, 2, 1, 1))]), "inputs[0].rect" },
        { "free of none", new(LayoutKind.Free, []), "inputs" },
        { "unknown fit", new(LayoutKind.Single, [new("wide", (FitMode)7)]), "inputs[0].fit" },
        { "unknown kind", new((LayoutKind)42, [new("wide")]), "kind" },
        { "overlay unknown image", new(LayoutKind.Single, [new("wide")]) { Overlays = [new("nope", R(0, 0, 10, 10))] }, "overlays[0].id" },
        { "overlay off canvas", new(LayoutKind.Single, [new("wide")]) { Overlays = [new("logo", R(0, 700, 100, 100))] }, "overlays[0].rect" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Refuses_a_bad_layout_naming_the_field(string name, ProgramLayout layout, string field)
    {
        var error = Assert.Throws<LayoutException>(() => LayoutPlanner.Plan(layout, Hd, Sources));
        Assert.True(field == error.Field, $"{name}: {error.Message}");
        Assert.StartsWith(field + ": ", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 720)]
    [InlineData(1280, -720)]
    [InlineData(1281, 720)]
    public void Refuses_a_canvas_that_is_not_positive_and_even(int width, int height)
    {
        var error = Assert.Throws<LayoutException>(() => LayoutPlanner.Plan(new(LayoutKind.Single, [new("wide")]), new PixelSize(width, height), Sources));
        Assert.Equal("canvas", error.Field);
    }

    [Fact]
    public void Refuses_an_odd_source_size()
    {
        var sources = new Dictionary<string, PixelSize?> { ["odd"] = new PixelSize(641, 360) };
        var error = Assert.Throws<LayoutException>(() => LayoutPlanner.Plan(new(LayoutKind.Single, [new("odd")]), Hd, sources));
        Assert.Equal("inputs[0].id", error.Field);
    }

    private static PixelRect R(int x, int y, int width, int height) => new(x, y, width, height);
}
