namespace Broadcast.Ingest.Tests.Rtmp;

/// <summary>
/// A dropped publish whose grace runs out ends exactly as an unpublish does: the stream completes and leaves the
/// registry (Unpublished raised once), the authorizer is told once (schedules and live state follow), and the end is
/// logged. A publish taken over by a reconnect is ended by the new connection, never twice.
/// </summary>
public class ReconnectGraceExpiryTests
{
    private const int GraceExpiredEvent = 1015;

    [Fact]
    public async Task Grace_expiry_tells_the_authorizer_and_raises_unpublished_once()
    {
        await using var host = await RtmpTestHost.StartAsync(new() { ["Ingest:ReconnectGraceSeconds"] = "1" });
        int unpublished = 0;
        host.Registry.Unpublished += _ => Interlocked.Increment(ref unpublished);
        var client = await RtmpTestClient.ConnectAsync(host.EndPoint);
        await client.HandshakeAsync();
        await client.PublishAsync("live", TestPublishAuthorizer.GoodKey);
        var stream = host.Registry.Find("news")!;

        await client.DisposeAsync();
        Assert.True(await RtmpTestHost.EventuallyAsync(() => stream.IsReconnecting || stream.IsCompleted));
        Assert.True(await RtmpTestHost.EventuallyAsync(() => stream.IsCompleted && host.Registry.Find("news") is null));

        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Authorizer.Unpublished.Count == 1));
        var decision = Assert.Single(host.Authorizer.Unpublished);
        Assert.Equal("channel-1", decision.ChannelId);
        Assert.Equal("news", decision.StreamName);
        // The registry raises Unpublished just after it lets go of the stream, on the grace timer's thread: wait for it.
        Assert.True(await RtmpTestHost.EventuallyAsync(() => Volatile.Read(ref unpublished) >= 1));
        Assert.Equal(1, Volatile.Read(ref unpublished));
        var log = Assert.Single(host.Logs.Entries, e => e.EventId == GraceExpiredEvent);
        Assert.Contains("news", log.Message);
        Assert.Contains("channel-1", log.Message);
    }

    [Fact]
    public async Task A_resumed_publish_is_ended_once_by_its_new_connection()
    {
        await using var host = await RtmpTestHost.StartAsync(new() { ["Ingest:ReconnectGraceSeconds"] = "5" });
        var first = await RtmpTestClient.ConnectAsync(host.EndPoint);
        await first.HandshakeAsync();
        await first.PublishAsync("live", TestPublishAuthorizer.GoodKey);
        var stream = host.Registry.Find("news")!;
        await first.DisposeAsync();
        Assert.True(await RtmpTestHost.EventuallyAsync(() => stream.IsReconnecting));

        await using (var second = await RtmpTestClient.ConnectAsync(host.EndPoint))
        {
            await second.HandshakeAsync();
            await second.PublishAsync("live", TestPublishAuthorizer.GoodKey);
            Assert.True(await RtmpTestHost.EventuallyAsync(() => stream.Epoch == 1 && !stream.IsReconnecting));
            Assert.Empty(host.Authorizer.Unpublished);
            // The encoder's stop: an explicit unpublish ends the broadcast at once.
            await second.SendCommandAsync("FCUnpublish", null, 0, TestPublishAuthorizer.GoodKey);
            await second.SendCommandAsync("deleteStream", null, 0, 1.0);
            Assert.True(await RtmpTestHost.EventuallyAsync(() => stream.IsCompleted && host.Registry.Find("news") is null),
                $"completed {stream.IsCompleted}, registered {host.Registry.Find("news") is not null}, resumes {stream.Resumes}, reconnecting {stream.IsReconnecting}; log: "
                + string.Join(" | ", host.Logs.Entries.Select(e => $"{e.EventId} {e.Message}")));
        }

        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Authorizer.Unpublished.Count >= 1));
        Assert.Single(host.Authorizer.Unpublished);
        Assert.DoesNotContain(host.Logs.Entries, e => e.EventId == GraceExpiredEvent);
    }
}
