using Broadcast.Control.Channels;
using Broadcast.Media;
using Broadcast.Storage;
using Broadcast.Observability.Metrics;

namespace Broadcast.Observability.Tests;

public class StoreBacklogStatusTests
{
    private static readonly UploadBacklogStatus Outage = new(
        PendingObjects: 12, PendingBytes: 3 * 1024 * 1024, SpilledBytes: 1024, Uploaded: 40, Dropped: 2,
        StoreReachable: false, LastError: "connection refused", OldestPendingSince: DateTimeOffset.Parse("2026-11-21T10:00:05Z"));

    [Fact]
    public void Metrics_show_the_upload_backlog()
    {
        string text = MetricsEndpoint.Render(null, null, null, null, null, new FixedBacklogForTests(Outage));
        Assert.Contains("broadcast_store_pending_objects 12\n", text);
        Assert.Contains("broadcast_store_pending_bytes 3145728\n", text);
        Assert.Contains("broadcast_store_spilled_bytes 1024\n", text);
        Assert.Contains("broadcast_store_dropped_total 2\n", text);
        Assert.Contains("broadcast_store_reachable 0\n", text);
    }

    [Fact]
    public async Task A_live_channel_warns_while_object_storage_is_unreachable()
    {
        var registry = new LiveStreamRegistry();
        Assert.True(registry.TryStartPublish("news", out _));
        var channel = new Channel("c1", "News", "news", false, false, false, DateTimeOffset.UnixEpoch, "abcd");

        var down = await new PipelineChannelLiveStatus(registry, backlog: new FixedBacklogForTests(Outage)).GetAsync(channel, default);
        var warning = Assert.Single(down.Warnings);
        Assert.Contains("object storage unreachable: 12 objects (3.0 MB) waiting to upload since 10:00:05Z", warning);

        var healthy = await new PipelineChannelLiveStatus(registry, backlog: new FixedBacklogForTests(Outage with { StoreReachable = true }))
            .GetAsync(channel, default);
        Assert.Empty(healthy.Warnings);
    }

    /// <summary>A fixed backlog snapshot: the real queue's numbers come from an S3 outage, covered by the S3 end-to-end tests.</summary>
    private sealed class FixedBacklogForTests(UploadBacklogStatus status) : IUploadBacklog
    {
        public UploadBacklogStatus GetStatus() => status;
    }
}
