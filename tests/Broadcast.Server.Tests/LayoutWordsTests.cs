using Broadcast.Compositor.Engine;
using Broadcast.Compositor.Layouts;
using Broadcast.Control.Programs;

namespace Broadcast.Server.Tests;

/// <summary>
/// Control checks a program request's words without knowing the compositor, and the compositor reads them into its
/// enums (<see cref="LayoutWords"/>): the two lists are one vocabulary, and no word falls back to a default.
/// </summary>
public sealed class LayoutWordsTests
{
    [Fact]
    public void Control_accepts_exactly_the_words_the_compositor_reads()
    {
        Assert.Equal(LayoutWords.Kinds, ProgramWords.Kinds);
        Assert.Equal(LayoutWords.Transitions, ProgramWords.Transitions);
        Assert.All(LayoutWords.Kinds, word => Assert.True(LayoutWords.TryKind(word, out _), word));
        Assert.Equal([LayoutTransition.Cut, LayoutTransition.Fade], LayoutWords.Transitions.Select(LayoutWords.Transition));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Fade")]
    [InlineData("dissolve")]
    public void An_unknown_transition_is_an_error_naming_its_field_never_a_cut(string? word)
    {
        var e = Assert.Throws<LayoutException>(() => LayoutWords.Transition(word));
        Assert.Equal("transition", e.Field);
    }
}
