using Broadcast.Media;

namespace Broadcast.Ingest.Tests;

/// <summary>
/// The grace's expiry belongs to the publisher that dropped: a reconnect that resumed the stream ends it itself, and that
/// end is not the grace running out, however early the reconnect came.
/// </summary>
public sealed class PublishGraceTests
{
    [Fact]
    public void A_reconnect_that_resumed_before_the_expiry_was_watched_is_not_taken_for_an_expiry()
    {
        var registry = new LiveStreamRegistry();
        Assert.True(registry.TryStartPublish("news", out var stream));
        int resumes = stream.Resumes;
        Assert.True(registry.Interrupt(stream, TimeSpan.FromSeconds(30)));
        // The new connection resumes the stream before the dropped one got round to watching for the expiry.
        Assert.True(registry.TryStartPublish("news", out var resumed));
        Assert.Same(stream, resumed);
        int expired = 0;
        PublishGrace.WhenExpired(stream, resumes, _ => expired++);

        registry.EndPublish(stream); // the new connection's unpublish
        Assert.True(stream.IsCompleted);
        Assert.Equal(0, expired);
    }

    [Fact]
    public void A_stream_that_ends_in_its_grace_is_an_expiry_once()
    {
        var registry = new LiveStreamRegistry();
        Assert.True(registry.TryStartPublish("news", out var stream));
        int resumes = stream.Resumes;
        Assert.True(registry.Interrupt(stream, TimeSpan.FromSeconds(30)));
        int expired = 0;
        PublishGrace.WhenExpired(stream, resumes, _ => expired++);
        registry.EndPublish(stream);
        registry.EndPublish(stream);
        Assert.Equal(1, expired);
    }
}
