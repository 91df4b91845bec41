using Broadcast.Compositor.Layouts;

namespace Broadcast.Compositor.Tests;

/// <summary>The layout words are read in one place, and a word it does not know names its field instead of becoming a default.</summary>
public sealed class LayoutWordsTests
{
    [Theory]
    [InlineData("single", LayoutKind.Single)]
    [InlineData("pip", LayoutKind.PictureInPicture)]
    [InlineData("side-by-side", LayoutKind.SideBySide)]
    [InlineData("grid", LayoutKind.Grid)]
    [InlineData("free", LayoutKind.Free)]
    public void Each_layout_word_names_its_kind(string word, LayoutKind kind) => Assert.Equal(kind, LayoutWords.Kind(word));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Grid")]
    [InlineData("mosaic")]
    public void An_unknown_layout_word_is_a_field_error_not_a_free_layout(string? word)
    {
        var e = Assert.Throws<LayoutException>(() => LayoutWords.Kind(word));
        Assert.Equal("kind", e.Field);
        Assert.StartsWith($"unknown layout '{word}'", e.Problem, StringComparison.Ordinal);
        Assert.Equal($"kind: {e.Problem}", e.Message);
    }

    [Fact]
    public void Fits_and_corners_are_read_the_same_way()
    {
        Assert.Equal(FitMode.Fit, LayoutWords.Fit(null, "inputs[0].fit"));
        Assert.Equal(FitMode.Fill, LayoutWords.Fit("fill", "inputs[0].fit"));
        Assert.Equal("inputs[2].fit", Assert.Throws<LayoutException>(() => LayoutWords.Fit("stretch", "inputs[2].fit")).Field);
        Assert.Equal(Corner.TopLeft, LayoutWords.Corner("top-left"));
        Assert.Equal(Corner.BottomRight, LayoutWords.Corner("bottom-right"));
        Assert.Equal("insetCorner", Assert.Throws<LayoutException>(() => LayoutWords.Corner("middle")).Field);
    }
}
