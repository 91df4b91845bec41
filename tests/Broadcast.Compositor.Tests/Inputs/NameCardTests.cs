using Broadcast.Compositor.Inputs;
using Broadcast.Compositor.Layouts;
using Broadcast.Compositor.Video;

namespace Broadcast.Compositor.Tests.Inputs;

/// <summary>Name cards rendered by the real ffmpeg, then drawn by the compositor as a placeholder shows them.</summary>
[Trait("Kind", "Component")]
public sealed class NameCardTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private static readonly PixelSize Card = new(640, 360);

    public static TheoryData<string?, string?> Labels => new()
    {
        { null, null },
        { "", null },
        { "   ", null },
        { "Ana", "Ana" },
        { "  Studio B  ", "Studio B" },
        { "Line\none\r\n\ttwo", "Line one two" },
        { "\u0000\u0007", null },
        { new string('x', 60), new string('x', NameCard.MaxLabelLength) },
        { "%{pts} : ' \\ , [x]", "%{pts} : ' \\ , [x]" },
    };

    [Theory]
    [MemberData(nameof(Labels))]
    public void A_label_is_shown_on_one_line_and_cut_to_the_longest_a_card_takes(string? label, string? shown) => Assert.Equal(shown, NameCard.Clean(label));

    [Fact]
    public void A_card_is_rendered_at_half_the_canvas_on_the_chroma_grid()
    {
        Assert.Equal(new PixelSize(640, 360), NameCard.SizeFor(new PixelSize(1280, 720)));
        Assert.Equal(new PixelSize(426, 240), NameCard.SizeFor(new PixelSize(854, 480)));
    }

    [Fact]
    public async Task The_name_is_white_in_the_lower_band_and_the_rest_is_transparent()
    {
        using var card = await NameCard.RenderAsync("ffmpeg", "Studio B — Ana", Card, Bound, CancellationToken.None);

        var (top, bottom, covered) = Coverage(card);
        Assert.True(covered > 500, $"only {covered} pixels carry the name");
        Assert.InRange(top, Card.Height * NameCard.TextTopPerMille / 1000 - 2, Card.Height * 3 / 4);
        Assert.InRange(bottom, top + 10, Card.Height - 1);
        Assert.All(card.Picture.Y.ToArray(), y => Assert.Equal(235, y));
    }

    [Fact]
    public async Task Filter_syntax_and_expansions_in_a_label_are_text_not_instructions()
    {
        // Were the label parsed as a filter argument, the colon and quote would end drawtext's options and ffmpeg
        // would fail; were it expanded, %{pts} would become a number. Both render as text of about the same length.
        using var hostile = await NameCard.RenderAsync("ffmpeg", "%{pts}:'x',[y]", Card, Bound, CancellationToken.None);
        using var plain = await NameCard.RenderAsync("ffmpeg", "%{pts}-x-y-zz", Card, Bound, CancellationToken.None);
        var (_, _, hostileCoverage) = Coverage(hostile);
        var (_, _, plainCoverage) = Coverage(plain);
        Assert.True(hostileCoverage > 200, $"the hostile label drew {hostileCoverage} pixels");
        Assert.InRange(hostileCoverage, plainCoverage / 3, plainCoverage * 3);
    }

    [Fact]
    public async Task A_label_with_nothing_printable_or_a_card_too_small_is_refused()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => NameCard.RenderAsync("ffmpeg", "\n\t", Card, Bound, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => NameCard.RenderAsync("ffmpeg", "Ana", new PixelSize(8, 8), Bound, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => NameCard.RenderAsync("ffmpeg", "Ana", new PixelSize(641, 360), Bound, CancellationToken.None));
    }

    [Fact]
    public async Task An_ffmpeg_that_cannot_render_is_a_clear_error()
    {
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => NameCard.RenderAsync("false", "Ana", Card, Bound, CancellationToken.None));
        Assert.Contains("name card", error.Message);
    }

    [Fact]
    public async Task A_missing_input_shows_its_name_below_the_dark_middle_of_its_tile()
    {
        // A 2x2 grid on 1280x720, the top-right input away: its cell's middle stays the placeholder's dark grey, the
        // name is drawn in white in the cell's lower band, and the neighbouring cell is untouched.
        using var card = await NameCard.RenderAsync("ffmpeg", "Guest", NameCard.SizeFor(new PixelSize(1280, 720)), Bound, CancellationToken.None);
        using var canvas = new Yuv420Frame(1280, 720);
        using var red = new Yuv420Frame(640, 360);
        red.Fill(81, 90, 240);
        var sources = new CompositionSources();
        sources.Frames["a"] = red;
        sources.PlaceholderCards["b"] = card;
        var plan = LayoutPlanner.Plan(new ProgramLayout(LayoutKind.Grid, [new("a"), new("b"), new("a"), new("a")]), new PixelSize(1280, 720),
            new Dictionary<string, PixelSize?> { ["a"] = red.Size, ["b"] = null });
        new FrameCompositor().Compose(canvas, plan, sources);

        Assert.Equal(FrameCompositor.PlaceholderLuma, canvas.Y[(180 * 1280) + 960]);
        int bright = 0;
        for (int y = 200; y < 360; y++)
        {
            for (int x = 640; x < 1280; x++)
            {
                if (canvas.Y[(y * 1280) + x] > 128) bright++;
            }
        }
        Assert.True(bright > 200, $"{bright} bright pixels in the cell's lower band");
        for (int y = 0; y < 360; y++) Assert.Equal(81, canvas.Y[(y * 1280) + 320]);
    }

    /// <summary>The first and last row any glyph covers, and how many pixels the glyphs cover.</summary>
    private static (int Top, int Bottom, int Covered) Coverage(Yuva420Image card)
    {
        int top = int.MaxValue, bottom = -1, covered = 0;
        var alpha = card.Alpha;
        for (int y = 0; y < card.Height; y++)
        {
            for (int x = 0; x < card.Width; x++)
            {
                if (alpha[(y * card.Width) + x] <= 128) continue;
                covered++;
                top = Math.Min(top, y);
                bottom = y;
            }
        }
        return (top, bottom, covered);
    }
}
