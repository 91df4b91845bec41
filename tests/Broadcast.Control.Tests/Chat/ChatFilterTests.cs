using Broadcast.Control.Chat;

namespace Broadcast.Control.Tests.Chat;

public sealed class ChatFilterTests
{
    private static ChatFilter Filter(ChatLinkPolicy links = ChatLinkPolicy.Text, params string[] words)
        => new(new ChatRoomSettings(ChatMode.Open, 0, links, words));

    [Theory]
    [InlineData("what a DARN shame", ChatFilterVerdict.BlockedWord)]
    [InlineData("darn!", ChatFilterVerdict.BlockedWord)]
    [InlineData("darned socks", ChatFilterVerdict.None)] // whole words only
    [InlineData("undarn", ChatFilterVerdict.None)]
    [InlineData("buy followers today", ChatFilterVerdict.BlockedWord)] // a phrase
    [InlineData("followers buy", ChatFilterVerdict.None)]
    [InlineData("c++ rocks", ChatFilterVerdict.BlockedWord)] // regex characters are literal
    [InlineData("c rocks", ChatFilterVerdict.None)]
    [InlineData("clean message", ChatFilterVerdict.None)]
    public void Blocks_whole_words_and_phrases_case_insensitively(string text, ChatFilterVerdict expected)
        => Assert.Equal(expected, Filter(ChatLinkPolicy.Text, "darn", "buy followers", "c++").Check(text));

    [Theory]
    [InlineData("what a da\u200Brn shame")] // zero-width space
    [InlineData("da\u200Crn")] // zero-width non-joiner
    [InlineData("da\u200Drn")] // zero-width joiner
    [InlineData("da\u2060rn")] // word joiner
    [InlineData("da\uFEFFrn")] // byte-order mark
    [InlineData("da\u00ADrn")] // soft hyphen
    [InlineData("\uFF24\uFF21\uFF32\uFF2E!")] // fullwidth letters
    [InlineData("buy\u200B followers")]
    public void Invisible_characters_and_compatibility_forms_do_not_hide_a_blocked_word(string text)
        => Assert.Equal(ChatFilterVerdict.BlockedWord, Filter(ChatLinkPolicy.Text, "darn", "buy followers").Check(text));

    [Theory]
    [InlineData("visit scam\uFF0Exyz now")] // fullwidth full stop
    [InlineData("visit scam\u3002xyz now")] // ideographic full stop
    [InlineData("visit scam\u2024xyz now")] // one dot leader
    [InlineData("visit sc\u200Bam.x\u200Byz")]
    [InlineData("\uFF48\uFF54\uFF54\uFF50\uFF53://example")] // fullwidth scheme
    public void Lookalike_dots_and_invisible_characters_do_not_hide_a_link(string text)
        => Assert.Equal(ChatFilterVerdict.Link, Filter(ChatLinkPolicy.Block).Check(text));

    [Fact]
    public void Matching_folds_only_what_a_reader_would_not_see_or_would_read_alike()
    {
        Assert.Equal("darn", ChatFilter.ForMatching("d\u200Ba\u2060r\uFEFFn"));
        Assert.Equal("café naïve", ChatFilter.ForMatching("café naïve"));
        Assert.Equal("classic words", ChatFilter.ForMatching("classic words"));
        Assert.Equal(ChatFilterVerdict.None, Filter(ChatLinkPolicy.Block, "darn").Check("the café's darned socks, version 1.2"));
    }

    [Theory]
    [InlineData("see https://example.com/x", true)]
    [InlineData("ftp://files.example", true)]
    [InlineData("go to www.example", true)]
    [InlineData("visit scam.xyz now", true)]
    [InlineData("sub.domain.example.com", true)]
    [InlineData("version 1.2.3 is out", false)]
    [InlineData("e.g. this, i.e. that", false)]
    [InlineData("no links here", false)]
    public void Finds_links(string text, bool link) => Assert.Equal(link, ChatFilter.ContainsLink(text));

    [Fact]
    public void Refuses_links_only_when_the_channel_blocks_them()
    {
        const string text = "free stuff at https://example.com";
        Assert.Equal(ChatFilterVerdict.Link, Filter(ChatLinkPolicy.Block).Check(text));
        Assert.Equal(ChatFilterVerdict.None, Filter(ChatLinkPolicy.Text).Check(text));
        Assert.Equal(ChatFilterVerdict.None, Filter(ChatLinkPolicy.Clickable).Check(text));
        Assert.Equal("Links are not allowed in this chat.", ChatFilter.Describe(ChatFilterVerdict.Link));
    }

    [Fact]
    public void Settings_parse_names_the_bad_field_and_keeps_what_is_missing()
    {
        var current = new ChatRoomSettings(ChatMode.Hold, 10, ChatLinkPolicy.Block, ["a"]);
        var e = Assert.Throws<ValidationFailedException>(() => ChatRoomSettings.Parse(current, "closed", -1, "maybe", null));
        Assert.Equal(["links", "mode", "slowModeSeconds"], e.Errors.Keys.Order(StringComparer.Ordinal));
        Assert.Throws<ValidationFailedException>(() => ChatRoomSettings.Parse(current, null, 3601, null, null));
        Assert.Throws<ValidationFailedException>(() => ChatRoomSettings.Parse(current, null, null, null, [new string('w', 65)]));

        var same = ChatRoomSettings.Parse(current, null, null, null, null);
        Assert.Equal(current, same);
        var changed = ChatRoomSettings.Parse(current, "open", 0, "clickable", [" spam ", "SPAM", "", null, "eggs"]);
        Assert.Equal(ChatMode.Open, changed.Mode);
        Assert.Equal(ChatLinkPolicy.Clickable, changed.Links);
        Assert.Equal(["spam", "eggs"], changed.BlockedWords);
    }
}
