using Broadcast.Storage;

namespace Broadcast.Storage.Tests;

/// <summary>Anonymous status pages get classified words, never a path, a key or a bucket (which can name a private channel).</summary>
public sealed class StoreErrorSummaryTests
{
    public static TheoryData<string?, string?> Cases => new()
    {
        { null, null },
        { "No space left on device : '/var/lib/broadcast/media/members-only/720p/b3-12.m4s'", StoreErrorSummary.NoSpace },
        { "Access to the path '/data/media/members-only/index.m3u8' is denied.", StoreErrorSummary.PermissionDenied },
        { "Read-only file system : '/data/media/members-only'", StoreErrorSummary.ReadOnly },
        { "AccessDenied: bucket broadcast-prod, key members-only/720p/b3-12.m4s", StoreErrorSummary.PermissionDenied },
        { "The request to http://minio:9000/broadcast/members-only/x timed out", StoreErrorSummary.TimedOut },
        { "Name or service not known (minio:9000)", StoreErrorSummary.Unavailable },
        { "", StoreErrorSummary.Unavailable },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_store_error_becomes_a_few_words_that_name_nothing(string? message, string? expected)
    {
        string? summary = StoreErrorSummary.Of(message);
        Assert.Equal(expected, summary);
        if (summary is not null)
        {
            Assert.DoesNotContain("members-only", summary, StringComparison.Ordinal);
            Assert.DoesNotContain("/", summary, StringComparison.Ordinal);
        }
    }
}
