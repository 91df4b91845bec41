using Broadcast.Network;

namespace Broadcast.Network.Tests;

/// <summary>The one constant-time comparison of a presented secret: the bare value, or an Authorization header carrying it.</summary>
public sealed class BearerSecretTests
{
    private const string Secret = "node-token-0123456789abcdef0123456789";

    [Theory]
    [InlineData("Bearer " + Secret, true)]
    [InlineData("bearer " + Secret, true)]
    [InlineData("Bearer   " + Secret + "  ", true)]
    [InlineData("Bearer " + Secret + "x", false)]
    [InlineData("Bearer " + "node-token", false)]
    [InlineData("Basic " + Secret, false)]
    [InlineData(Secret, false)]
    [InlineData("Bearer ", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void An_authorization_header_matches_only_as_bearer_and_the_whole_secret(string? header, bool matches)
    {
        Assert.Equal(matches, new BearerSecret(Secret).MatchesAuthorization(header));
    }

    [Fact]
    public void The_bare_value_matches_itself_alone()
    {
        var secret = new BearerSecret(Secret);
        Assert.True(secret.Matches(Secret));
        Assert.False(secret.Matches(Secret.AsSpan(0, Secret.Length - 1)));
        Assert.False(secret.Matches(""));
    }

    [Fact]
    public void Two_held_secrets_are_compared_whole_whatever_their_lengths()
    {
        Assert.True(BearerSecret.Same("abc123", "abc123"));
        Assert.False(BearerSecret.Same("abc123", "abc12"));
        Assert.False(BearerSecret.Same("abc123", "abc1234"));
        Assert.False(BearerSecret.Same("abc123", ""));
    }
}
