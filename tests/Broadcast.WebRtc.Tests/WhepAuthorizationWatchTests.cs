using Broadcast.Origin;
using Broadcast.WebRtc.Whep;

namespace Broadcast.WebRtc.Tests;

/// <summary>What ends a WHEP session after its offer was admitted (the end-to-end test runs it against a real node).</summary>
public sealed class WhepAuthorizationWatchTests
{
    private sealed class Access : IPlaybackAccess
    {
        public HashSet<string> Private { get; } = new(StringComparer.Ordinal);

        public HashSet<string> GoodTokens { get; } = new(StringComparer.Ordinal);

        public bool Ready { get; set; } = true;

        public bool IsReady => Ready;

        public bool IsPrivate(ReadOnlySpan<char> stream) => Private.Contains(stream.ToString());

        public bool IsAuthorized(ReadOnlySpan<char> stream, ReadOnlySpan<char> token, out DateTimeOffset expiresAt)
        {
            expiresAt = DateTimeOffset.MaxValue;
            return GoodTokens.Contains(token.ToString());
        }
    }

    [Fact]
    public void A_public_channel_s_session_plays_on_whatever_it_was_admitted_with()
    {
        var access = new Access();
        Assert.Null(WhepAuthorizationWatch.WhyRevoked(access, new WhepSessionGrant("news", "s1", null)));
        Assert.Null(WhepAuthorizationWatch.WhyRevoked(access, new WhepSessionGrant("news", "s2", "a token since made worthless")));
    }

    [Fact]
    public void A_session_admitted_without_a_token_ends_when_its_channel_turns_private()
    {
        var access = new Access();
        access.Private.Add("news");
        Assert.Equal("the channel turned private", WhepAuthorizationWatch.WhyRevoked(access, new WhepSessionGrant("news", "s1", null)));
        Assert.Null(WhepAuthorizationWatch.WhyRevoked(access, new WhepSessionGrant("sport", "s2", null)));
    }

    [Fact]
    public void A_private_session_plays_while_its_token_is_good_and_ends_once_it_is_not()
    {
        var access = new Access();
        access.Private.Add("news");
        access.GoodTokens.Add("t1");
        var grant = new WhepSessionGrant("news", "s1", "t1");
        Assert.Null(WhepAuthorizationWatch.WhyRevoked(access, grant));
        // Expired, or its signing key rotated out: the policy no longer accepts it.
        access.GoodTokens.Clear();
        Assert.Equal("its playback token expired or was revoked", WhepAuthorizationWatch.WhyRevoked(access, grant));
    }

    [Fact]
    public void A_node_that_has_not_learnt_which_channels_are_private_ends_nothing()
    {
        // It admits nobody meanwhile (503), so a session it holds was admitted before; ending it on a stale view would be wrong.
        var access = new Access { Ready = false };
        access.Private.Add("news");
        Assert.Null(WhepAuthorizationWatch.WhyRevoked(access, new WhepSessionGrant("news", "s1", null)));
    }
}
