using System.Diagnostics;
using Broadcast.Compositor.Layouts;
using Broadcast.Compositor.Video;
using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.Compositor.Tests.Video;

public sealed class FrameCompositorTests(ITestOutputHelper output) : IDisposable
{
    private static readonly PixelSize Hd = new(1280, 720);
    private static readonly (byte Y, byte U, byte V) Black = (16, 128, 128), Placeholder = (32, 128, 128);
    private static readonly (byte Y, byte U, byte V) Red = (81, 90, 240), Green = (145, 54, 34), Blue = (41, 240, 110), White = (235, 128, 128);

    private readonly CompositionSources _sources = new();
    private readonly List<IDisposable> _owned = [];
    private readonly Yuv420Frame _canvas = new(1280, 720);
    private readonly FrameCompositor _compositor = new();

    public void Dispose()
    {
        _canvas.Dispose();
        foreach (var item in _owned) item.Dispose();
    }

    [Fact]
    public void Single_input_fills_the_canvas()
    {
        Solid("a", 1280, 720, Red);
        Compose(new(LayoutKind.Single, [new("a")]));
        AssertColour(Red, (0, 0), (1279, 719), (640, 360), (1278, 1));
    }

    [Fact]
    public void Fit_pillarboxes_with_black_and_fill_crops_to_the_edges()
    {
        Solid("square", 480, 480, Green);
        Compose(new(LayoutKind.Single, [new("square")]));
        AssertColour(Black, (0, 360), (279, 360), (1000, 0), (1279, 719));
        AssertColour(Green, (280, 0), (640, 360), (999, 719));

        Compose(new(LayoutKind.Single, [new("square", FitMode.Fill)]));
        AssertColour(Green, (0, 0), (0, 719), (1279, 0), (1279, 719), (640, 360));
    }

    [Fact]
    public void Side_by_side_letterboxes_each_half()
    {
        Solid("a", 1280, 720, Red);
        Solid("b", 1280, 720, Blue);
        Compose(new(LayoutKind.SideBySide, [new("a"), new("b")]));
        AssertColour(Red, (0, 180), (320, 360), (639, 539));
        AssertColour(Blue, (640, 180), (960, 360), (1279, 539));
        AssertColour(Black, (320, 0), (320, 179), (960, 540), (960, 719));
    }

    [Fact]
    public void Picture_in_picture_puts_the_inset_over_the_main_picture()
    {
        Solid("main", 1280, 720, Red);
        Solid("guest", 640, 360, Blue);
        Compose(new(LayoutKind.PictureInPicture, [new("main"), new("guest")]) { InsetCorner = Corner.TopRight, InsetWidthPerMille = 250, InsetMargin = 20 });
        AssertColour(Blue, (940, 20), (1259, 199), (1100, 100));
        AssertColour(Red, (939, 20), (1260, 100), (1100, 200), (0, 0), (640, 600));
    }

    [Fact]
    public void Grid_places_four_inputs_row_by_row_and_a_missing_one_as_its_placeholder()
    {
        Solid("a", 640, 360, Red);
        Solid("b", 640, 360, Green);
        Solid("c", 640, 360, Blue);
        _sources.Frames.Remove("d");
        Compose(new(LayoutKind.Grid, [new("a"), new("b"), new("c"), new("d")]), extra: ("d", null));
        AssertColour(Red, (0, 0), (639, 359));
        AssertColour(Green, (640, 0), (1279, 359));
        AssertColour(Blue, (0, 360), (639, 719));
        AssertColour(Placeholder, (640, 360), (1279, 719), (960, 540));
    }

    [Fact]
    public void Free_layout_draws_by_z_with_bars_over_what_lies_below()
    {
        Solid("back", 1280, 720, Red);
        Solid("square", 200, 200, Blue);
        Compose(new(LayoutKind.Free, [new("square", Rect: new(100, 100, 400, 200), Z: 2), new("back", Rect: new(0, 0, 1280, 720), Z: 1)]));
        AssertColour(Blue, (200, 100), (300, 200), (399, 299));
        AssertColour(Black, (100, 100), (199, 299), (400, 150), (499, 299));
        AssertColour(Red, (99, 100), (500, 100), (300, 300), (0, 0));
    }

    [Fact]
    public void An_input_whose_frame_is_missing_shows_the_plain_card_and_its_name_card_when_there_is_one()
    {
        Solid("main", 1280, 720, Red);
        Compose(new(LayoutKind.PictureInPicture, [new("main"), new("gone")]) { InsetCorner = Corner.BottomLeft, InsetMargin = 0, InsetWidthPerMille = 500 }, extra: ("gone", null));
        AssertColour(Placeholder, (0, 360), (639, 719));
        AssertColour(Red, (640, 360), (0, 359));

        // A card rendered elsewhere (the name in white on transparent) is drawn over the dark tile.
        var card = new Yuva420Image(64, 36);
        _owned.Add(card);
        card.Picture.Fill(White.Y, White.U, White.V);
        card.Alpha.Clear();
        for (int y = 16; y < 20; y++) card.Alpha.Slice(y * 64, 64).Fill(255);
        _sources.PlaceholderCards["gone"] = card;
        Compose(new(LayoutKind.PictureInPicture, [new("main"), new("gone")]) { InsetCorner = Corner.BottomLeft, InsetMargin = 0, InsetWidthPerMille = 500 }, extra: ("gone", null));
        AssertColour(Placeholder, (0, 360), (320, 400), (639, 719));
        Assert.Equal(White.Y, Luma(320, 360 + 180));
    }

    [Fact]
    public void A_name_card_keeps_its_shape_in_a_tall_cell_centred_on_the_placeholder()
    {
        // A 64x36 card whose bottom quarter is opaque white, in a 200x400 free-placement cell: fitted to 200x112 and
        // centred (top at 144 + 100), so the text band lands at rows 328..355 and nothing above or below it is white.
        var card = new Yuva420Image(64, 36);
        _owned.Add(card);
        card.Picture.Fill(White.Y, White.U, White.V);
        card.Alpha.Clear();
        card.Alpha[(27 * 64)..].Fill(255);
        _sources.PlaceholderCards["gone"] = card;
        Assert.Equal(new PixelRect(100, 244, 200, 112), FrameCompositor.FitCentred(card, new PixelRect(100, 100, 200, 400)));

        Compose(new(LayoutKind.Free, [new("gone", Rect: new PixelRect(100, 100, 200, 400))]), extra: ("gone", null));
        Assert.Equal(White.Y, Luma(200, 345));
        AssertColour(Placeholder, (100, 100), (299, 499), (200, 300), (200, 244), (200, 400));
        AssertColour(Black, (99, 300), (300, 300));
    }

    [Fact]
    public void Overlay_is_blended_by_its_alpha()
    {
        Solid("main", 1280, 720, Black);
        var logo = Image(100, 100, White);
        for (int y = 0; y < 100; y++)
        {
            var row = logo.Alpha.Slice(y * 100, 100);
            row[..40].Fill(255);
            row[40..60].Fill(128);
            row[60..].Fill(0);
        }

        _sources.Images["logo"] = logo;
        Compose(new(LayoutKind.Single, [new("main")]) { Overlays = [new("logo", new(200, 200, 100, 100))] }, extra: ("logo", new PixelSize(100, 100)));
        AssertColour(White, (200, 200), (238, 299));
        Assert.InRange(Luma(250, 250), 124, 127); // 16 + (235 - 16) · 128/256
        AssertColour(Black, (262, 200), (299, 299), (199, 250), (300, 250));

        // An edge through a 2x2 block: the chroma sample there is blended by the block's mean alpha (half).
        for (int y = 0; y < 100; y++)
        {
            var row = logo.Alpha.Slice(y * 100, 100);
            row.Clear();
            row[..41].Fill(255);
        }

        logo.Picture.Fill(Blue.Y, Blue.U, Blue.V);
        Compose(new(LayoutKind.Single, [new("main")]) { Overlays = [new("logo", new(200, 200, 100, 100))] }, extra: ("logo", new PixelSize(100, 100)));
        Assert.Equal(Blue.Y, Luma(240, 250));
        Assert.Equal(Black.Y, Luma(241, 250));
        Assert.Equal((Black.U + Blue.U + 1) / 2, _canvas.U[125 * 640 + 120]);
        Assert.Equal(Blue.U, _canvas.U[125 * 640 + 119]);
    }

    [Fact]
    public void An_image_in_a_tile_is_drawn_with_its_alpha_over_the_cells_black()
    {
        Solid("cam", 1280, 720, Red);
        var slate = Image(64, 36, Blue);
        slate.Alpha.Fill(255);
        slate.Alpha[..(64 * 18)].Clear(); // the top half transparent
        _sources.Images["slate"] = slate;
        Compose(new(LayoutKind.SideBySide, [new("cam"), new("slate")]), extra: ("slate", new PixelSize(64, 36)));
        AssertColour(Red, (0, 180), (639, 539));
        // Fitted into the right half (640x360 at y 180): its transparent top half shows the cell's black, not the placeholder.
        AssertColour(Blue, (700, 400), (1279, 539));
        AssertColour(Black, (700, 200), (1279, 340), (960, 100));
    }

    [Fact]
    public void Odd_source_sizes_scale_a_ramp_smoothly_and_keep_its_ends()
    {
        // A horizontal ramp 0..253 over 254 px, filled into a 642x362 cell at an odd scale: monotonic, ends kept.
        var ramp = new Yuv420Frame(254, 254);
        _owned.Add(ramp);
        for (int y = 0; y < 254; y++)
        {
            for (int x = 0; x < 254; x++) ramp.Y[y * 254 + x] = (byte)x;
        }

        ramp.U.Fill(128);
        ramp.V.Fill(128);
        _sources.Frames["ramp"] = ramp;
        Compose(new(LayoutKind.Free, [new("ramp", FitMode.Fill, new PixelRect(2, 2, 642, 362))]), extra: ("ramp", new PixelSize(254, 254)));
        int previous = -1;
        for (int x = 2; x < 644; x++)
        {
            int value = Luma(x, 100);
            Assert.True(value >= previous, $"ramp falls at x={x}: {previous} → {value}");
            previous = value;
        }

        Assert.InRange(Luma(2, 100), 0, 1);
        Assert.InRange(Luma(643, 100), 252, 253);
        Assert.InRange(Luma(2 + 321, 100), 125, 128);
    }

    [Fact]
    public void Downscaling_averages_a_fine_pattern_instead_of_picking_one_phase()
    {
        var stripes = new Yuv420Frame(1280, 720);
        _owned.Add(stripes);
        for (int i = 0; i < stripes.Y.Length; i++) stripes.Y[i] = (byte)(i % 2 == 0 ? 16 : 216);
        stripes.U.Fill(128);
        stripes.V.Fill(128);
        _sources.Frames["stripes"] = stripes;
        Compose(new(LayoutKind.Grid, [new("stripes")]));
        Assert.Equal(stripes.Y[640], Luma(640, 360)); // 1:1 copies
        Compose(new(LayoutKind.Free, [new("stripes", Rect: new(0, 0, 640, 360))]));
        for (int x = 10; x < 20; x++) Assert.InRange(Luma(x, 100), 112, 120);
    }

    [Fact]
    public void A_large_reduction_averages_detail_finer_than_the_target_instead_of_aliasing()
    {
        // Vertical stripes of period 3 (one bright, two dark), reduced 6:1 into a 1280x120 band from a 7680x720
        // source: every target pixel covers two periods, so each is the mean (16 + 16 + 216) / 3 ≈ 83; sampling two
        // taps would beat between 16 and 216.
        var stripes = new Yuv420Frame(7680, 720);
        _owned.Add(stripes);
        for (int y = 0; y < 720; y++)
        {
            var row = stripes.Y.Slice(y * 7680, 7680);
            for (int x = 0; x < 7680; x++) row[x] = (byte)(x % 3 == 0 ? 216 : 16);
        }

        stripes.U.Fill(128);
        stripes.V.Fill(128);
        _sources.Frames["stripes"] = stripes;
        Compose(new(LayoutKind.Free, [new("stripes", Rect: new(0, 0, 1280, 120))]));
        for (int x = 0; x < 1280; x++) Assert.InRange(Luma(x, 60), 82, 84);
    }

    [Fact]
    public void Cross_fade_midpoint_is_the_average_and_the_ends_are_exact()
    {
        using var from = new Yuv420Frame(64, 36);
        using var to = new Yuv420Frame(64, 36);
        using var into = new Yuv420Frame(64, 36);
        from.Fill(Red.Y, Red.U, Red.V);
        to.Fill(Blue.Y, Blue.U, Blue.V);
        CrossFade.Blend(from, to, 0, 10, into);
        Assert.All(into.Y.ToArray(), v => Assert.Equal(Red.Y, v));
        CrossFade.Blend(from, to, 5, 10, into);
        Assert.All(into.Y.ToArray(), v => Assert.InRange(v, (Red.Y + Blue.Y) / 2 - 1, (Red.Y + Blue.Y) / 2 + 1));
        Assert.All(into.U.ToArray(), v => Assert.InRange(v, (Red.U + Blue.U) / 2 - 1, (Red.U + Blue.U) / 2 + 1));
        Assert.All(into.V.ToArray(), v => Assert.InRange(v, (Red.V + Blue.V) / 2 - 1, (Red.V + Blue.V) / 2 + 1));
        CrossFade.Blend(from, to, 10, 10, into);
        Assert.All(into.V.ToArray(), v => Assert.Equal(Blue.V, v));
        Assert.Throws<ArgumentOutOfRangeException>(() => CrossFade.Blend(from, to, 11, 10, into));
    }

    [Fact]
    public void Frames_round_trip_yuv420p_bytes_and_refuse_odd_sizes()
    {
        using var frame = new Yuv420Frame(4, 2);
        byte[] bytes = Enumerable.Range(0, 12).Select(i => (byte)i).ToArray();
        frame.CopyFrom(bytes);
        Assert.Equal(new byte[] { 8, 9, 10, 11 }, frame.U.ToArray().Concat(frame.V.ToArray()));
        var back = new byte[12];
        frame.CopyTo(back);
        Assert.Equal(bytes, back);
        Assert.Throws<ArgumentException>(() => frame.CopyFrom(new byte[11]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Yuv420Frame(5, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Yuv420Frame(0, 0));
    }

    [Fact]
    public void Composing_allocates_nothing_once_warm_and_reports_its_time_per_720p_frame()
    {
        Solid("main", 1280, 720, Red);
        Solid("guest", 1280, 720, Blue);
        var logo = new Yuva420Image(200, 100);
        _owned.Add(logo);
        logo.Picture.Fill(White.Y, White.U, White.V);
        logo.Alpha.Fill(200);
        _sources.Images["logo"] = logo;
        var plan = LayoutPlanner.Plan(
            new(LayoutKind.PictureInPicture, [new("main"), new("guest")]) { Overlays = [new("logo", new(1040, 20, 220, 110))] },
            Hd, new Dictionary<string, PixelSize?> { ["main"] = Hd, ["guest"] = Hd, ["logo"] = new PixelSize(200, 100) });
        var sideBySide = LayoutPlanner.Plan(new(LayoutKind.SideBySide, [new("main"), new("guest")]), Hd, new Dictionary<string, PixelSize?> { ["main"] = Hd, ["guest"] = Hd });
        _compositor.Compose(_canvas, plan, _sources);
        _compositor.Compose(_canvas, sideBySide, _sources);

        long allocated = Allocations.LeastOf(3, () =>
        {
            for (int i = 0; i < 5; i++)
            {
                _compositor.Compose(_canvas, plan, _sources);
                _compositor.Compose(_canvas, sideBySide, _sources);
            }
        });
        Assert.Equal(0, allocated);

        const int frames = 60;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < frames; i++) _compositor.Compose(_canvas, plan, _sources);
        double pip = clock.Elapsed.TotalMilliseconds / frames;
        clock.Restart();
        for (int i = 0; i < frames; i++) _compositor.Compose(_canvas, sideBySide, _sources);
        double halves = clock.Elapsed.TotalMilliseconds / frames;
        output.WriteLine($"720p composition: picture-in-picture of two 720p inputs + alpha logo {pip:F2} ms/frame, side by side of two 720p inputs {halves:F2} ms/frame");
    }

    private void Compose(ProgramLayout layout, params (string Id, PixelSize? Size)[] extra)
    {
        var sizes = _sources.Frames.ToDictionary(p => p.Key, p => (PixelSize?)p.Value.Size);
        foreach (var (id, size) in extra) sizes[id] = size;
        _compositor.Compose(_canvas, LayoutPlanner.Plan(layout, Hd, sizes), _sources);
    }

    private void Compose(ProgramLayout layout) => Compose(layout, []);

    /// <summary>An image of one colour, owned by the test; its alpha is the caller's to set.</summary>
    private Yuva420Image Image(int width, int height, (byte Y, byte U, byte V) colour)
    {
        var image = new Yuva420Image(width, height);
        _owned.Add(image);
        image.Picture.Fill(colour.Y, colour.U, colour.V);
        return image;
    }

    private void Solid(string id, int width, int height, (byte Y, byte U, byte V) colour)
    {
        var frame = new Yuv420Frame(width, height);
        _owned.Add(frame);
        frame.Fill(colour.Y, colour.U, colour.V);
        _sources.Frames[id] = frame;
    }

    private int Luma(int x, int y) => _canvas.Y[y * _canvas.Width + x];

    private void AssertColour((byte Y, byte U, byte V) colour, params (int X, int Y)[] points)
    {
        foreach (var (x, y) in points)
        {
            var actual = (_canvas.Y[y * 1280 + x], _canvas.U[y / 2 * 640 + x / 2], _canvas.V[y / 2 * 640 + x / 2]);
            Assert.True(actual == colour, $"({x},{y}) is {actual}, expected {colour}");
        }
    }
}
