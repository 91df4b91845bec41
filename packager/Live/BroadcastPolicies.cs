using Broadcast.Media;

namespace Broadcast.Packager.Live;

/// <summary>
/// The per-broadcast policies the control plane may answer (recording, low latency, rewind window, encryption), asked in
/// that order at a broadcast's start; those not given take their <c>Packager</c> defaults (no low latency, no encryption).
/// </summary>
internal sealed class BroadcastPolicies(IRecordingPolicy recording, ILowLatencyPolicy? lowLatency, IRewindPolicy? rewind,
    IContentProtectionPolicy? protection, PackagerOptions options)
{
    /// <summary>
    /// <paramref name="continues"/>: the broadcast another node left unfinished that this one continues, or null. The
    /// renditions are left to the caller, who learns them from the first frames.
    /// </summary>
    public async ValueTask<BroadcastSettings> DecideAsync(LiveStream stream, BroadcastContinuation? continues, CancellationToken cancellationToken)
    {
        bool record = await recording.ShouldRecordAsync(stream, cancellationToken).ConfigureAwait(false);
        bool low = lowLatency is not null && await lowLatency.IsLowLatencyAsync(stream, cancellationToken).ConfigureAwait(false);
        int rewindSeconds = rewind is null ? options.DvrSeconds : await rewind.RewindSecondsAsync(stream, cancellationToken).ConfigureAwait(false);
        var protect = protection is null ? null : await protection.ProtectionAsync(stream, continues?.State.Protection, cancellationToken).ConfigureAwait(false);
        return new BroadcastSettings
        {
            Channel = stream.Name, Continues = continues, Record = record, LowLatency = low, RewindSeconds = rewindSeconds, Protection = protect,
        };
    }
}
