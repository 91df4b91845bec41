namespace Broadcast.Ingest.Tests.Rtmp;

/// <summary>
/// An encoder stopped on purpose (FCUnpublish, deleteStream) while the authorizer holds the channel (a scheduled event
/// is on): the broadcast waits as for a drop, the encoder's restart continues it, and when the hold runs out the
/// publish ends once, as a stop always did.
/// </summary>
public class StopInsideEventTests
{
    private const int HeldAfterStopEvent = 1016;

    [Fact]
    public async Task A_stop_the_authorizer_holds_waits_for_the_encoder_and_its_restart_continues_the_broadcast()
    {
        await using var host = await RtmpTestHost.StartAsync(new() { ["Ingest:ReconnectGraceSeconds"] = "1" });
        host.Authorizer.HoldAfterStop = TimeSpan.FromSeconds(30);
        var first = await RtmpTestClient.ConnectAsync(host.EndPoint);
        await first.HandshakeAsync();
        await first.PublishAsync("live", TestPublishAuthorizer.GoodKey);
        var stream = host.Registry.Find("news")!;

        await first.SendCommandAsync("FCUnpublish", null, 0, TestPublishAuthorizer.GoodKey);
        await first.SendCommandAsync("deleteStream", null, 0, 1.0);
        Assert.True(await RtmpTestHost.EventuallyAsync(() => stream.IsReconnecting));
        await first.DisposeAsync();
        // Longer than the reconnect grace (1 s): the hold (30 s) is what counts for a stop inside the event.
        Assert.False(await RtmpTestHost.EventuallyAsync(() => stream.IsCompleted, timeoutSeconds: 3));
        Assert.Empty(host.Authorizer.Unpublished);
        var held = Assert.Single(host.Logs.Entries, e => e.EventId == HeldAfterStopEvent);
        Assert.Contains("news", held.Message);

        await using var second = await RtmpTestClient.ConnectAsync(host.EndPoint);
        await second.HandshakeAsync();
        await second.PublishAsync("live", TestPublishAuthorizer.GoodKey);
        Assert.True(await RtmpTestHost.EventuallyAsync(() => stream.Epoch == 1 && !stream.IsReconnecting));
        Assert.Same(stream, host.Registry.Find("news"));
        Assert.Empty(host.Authorizer.Unpublished);
    }

    [Fact]
    public async Task When_the_hold_runs_out_the_publish_ends_once()
    {
        await using var host = await RtmpTestHost.StartAsync(new() { ["Ingest:ReconnectGraceSeconds"] = "30" });
        host.Authorizer.HoldAfterStop = TimeSpan.FromSeconds(1);
        await using var client = await RtmpTestClient.ConnectAsync(host.EndPoint);
        await client.HandshakeAsync();
        await client.PublishAsync("live", TestPublishAuthorizer.GoodKey);
        var stream = host.Registry.Find("news")!;

        await client.SendCommandAsync("FCUnpublish", null, 0, TestPublishAuthorizer.GoodKey);
        Assert.True(await RtmpTestHost.EventuallyAsync(() => stream.IsCompleted && host.Registry.Find("news") is null));
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Authorizer.Unpublished.Count == 1));
        Assert.Single(host.Authorizer.Unpublished);
    }
}
