using Broadcast.Control.Recordings;
using Broadcast.Packager.Live;
using Broadcast.Storage;

namespace Broadcast.Server;

/// <summary>Hands each broadcast the packager finished on this node to control's <see cref="FinishedBroadcasts"/>.</summary>
internal sealed class PackagerFinishedBroadcasts(LivePackager packager, FinishedBroadcasts finished) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        packager.StreamFinished += OnFinished;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        packager.StreamFinished -= OnFinished;
        return Task.CompletedTask;
    }

    private void OnFinished(BroadcastFinished done) => finished.Report(Describe(done));

    internal static FinishedBroadcast Describe(BroadcastFinished done)
    {
        var status = done.Status;
        var recording = done.Recording is { } r
            ? new RecordedBroadcast("/live/" + StoreKeys.RecordingMaster(status.Channel, status.BroadcastId),
                r.HasMpd ? "/live/" + StoreKeys.RecordingMpd(status.Channel, status.BroadcastId) : null, r.DurationMilliseconds, r.Bytes)
            : null;
        return new FinishedBroadcast(status.Channel, status.BroadcastId, status.Recording, recording);
    }
}
