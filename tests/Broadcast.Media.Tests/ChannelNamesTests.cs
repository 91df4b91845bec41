using Broadcast.Media;

namespace Broadcast.Media.Tests;

public sealed class ChannelNamesTests
{
    [Theory]
    [InlineData("main-stage")]
    [InlineData("a")]
    [InlineData("channel-2")]
    [InlineData("0123456789012345678901234567890123456789012345678901234567890123")]
    public void Slugs_are_channel_names(string name) => Assert.True(ChannelNames.IsValid(name));

    [Theory]
    [InlineData("")]
    [InlineData("-lead")]
    [InlineData("trail-")]
    [InlineData("Upper")]
    [InlineData("dot.ted")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("under_score")]
    [InlineData("é")]
    [InlineData("01234567890123456789012345678901234567890123456789012345678901234")]
    public void Anything_else_is_not(string name) => Assert.False(ChannelNames.IsValid(name));
}
