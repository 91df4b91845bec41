using Broadcast.Control.Chat;

namespace Broadcast.Control.Tests.Chat;

public sealed class ChatTextTests
{
    [Theory]
    [InlineData("hello", "hello")]
    [InlineData("  padded  ", "padded")]
    [InlineData("two\nlines", "two\nlines")]
    [InlineData("<script>alert(1)</script>", "<script>alert(1)</script>")] // stored as typed; pages render it as text
    [InlineData("emoji 👍🏽 ok", "emoji 👍🏽 ok")]
    public void Accepts_and_trims_messages(string input, string expected)
    {
        Assert.Equal(expected, ChatText.ValidateMessage(input, 500, out var error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData(null, "missing")]
    [InlineData("", "empty")]
    [InlineData("   \n ", "empty")]
    [InlineData("bell\u0007", "control")]
    [InlineData("nul\0byte", "control")]
    [InlineData("right-to-left \u202Eoverride", "control")]
    [InlineData("isolate \u2067x", "control")]
    public void Refuses_malformed_messages_with_a_reason(string? input, string reason)
    {
        Assert.Null(ChatText.ValidateMessage(input, 500, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_lone_surrogates()
    {
        // Built here, not in InlineData: test discovery round-trips data rows through UTF-8, which replaces them.
        foreach (var text in new[] { "lone " + '\uD800' + " high", "lone " + '\uDC00' + " low", "ends high" + '\uD83D' })
        {
            Assert.Null(ChatText.ValidateMessage(text, 500, out var error));
            Assert.Equal("The message holds control or invalid characters.", error);
            Assert.Null(ChatText.ValidateName(text, 32, out _));
        }
    }

    [Fact]
    public void Refuses_a_message_over_the_limit_naming_both_lengths()
    {
        Assert.Equal(new string('a', 10), ChatText.ValidateMessage(new string('a', 10), 10, out _));
        Assert.Null(ChatText.ValidateMessage(new string('a', 11), 10, out var error));
        Assert.Equal("The message is 11 characters; at most 10 are allowed.", error);
    }

    [Theory]
    [InlineData("  Ada   Lovelace ", "Ada Lovelace")]
    [InlineData("Zoë", "Zoë")]
    public void Folds_white_space_in_names(string input, string expected)
        => Assert.Equal(expected, ChatText.ValidateName(input, 32, out _));

    [Theory]
    [InlineData(null, "Pick a display name.")]
    [InlineData("   ", "Pick a display name.")]
    [InlineData("x\u0001y", "The display name holds control or invalid characters.")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456789", "The display name is at most 32 characters.")]
    public void Refuses_bad_names(string? input, string expected)
    {
        Assert.Null(ChatText.ValidateName(input, 32, out var error));
        Assert.Equal(expected, error);
    }
}
