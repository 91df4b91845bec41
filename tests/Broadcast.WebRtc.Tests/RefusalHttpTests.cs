namespace Broadcast.WebRtc.Tests;

/// <summary>The room's, WHIP's and WHEP's refusals are answered with the HTTP statuses they always were, each reason its own.</summary>
public sealed class RefusalHttpTests
{
    [Fact]
    public void Every_reason_has_its_own_status()
    {
        var statuses = Enum.GetValues<RefusalReason>().ToDictionary(r => r, RefusalHttp.StatusOf);
        Assert.Equal(new Dictionary<RefusalReason, int>
        {
            [RefusalReason.Malformed] = 400,
            [RefusalReason.UnknownCredential] = 401,
            [RefusalReason.Forbidden] = 403,
            [RefusalReason.NotFound] = 404,
            [RefusalReason.Conflict] = 409,
            [RefusalReason.TooMany] = 429,
            [RefusalReason.EngineFailed] = 502,
            [RefusalReason.Unavailable] = 503,
        }, statuses);
        Assert.Throws<ArgumentOutOfRangeException>(() => RefusalHttp.StatusOf((RefusalReason)99));
    }
}
