using Broadcast.Media;

namespace Broadcast.Packager.Live;

/// <summary>What a broadcast is packaged with, decided once at its start.</summary>
internal sealed record BroadcastSettings(bool Record, bool LowLatency, int RewindSeconds, BroadcastProtection? Protection);

/// <summary>
/// The per-broadcast policies the control plane may answer (recording, low latency, rewind window, encryption), asked in
/// that order at a broadcast's start; those not given take their <c>Packager</c> defaults (no low latency, no encryption).
/// </summary>
internal sealed class BroadcastPolicies(IRecordingPolicy recording, ILowLatencyPolicy? lowLatency, IRewindPolicy? rewind,
    IContentProtectionPolicy? protection, PackagerOptions options)
{
    /// <summary><paramref name="continues"/>: the broadcast another node left unfinished that this one continues, or null.</summary>
    public async ValueTask<BroadcastSettings> DecideAsync(LiveStream stream, BroadcastContinuation? continues, CancellationToken cancellationToken)
    {
        bool record = await recording.ShouldRecordAsync(stream, cancellationToken).ConfigureAwait(false);
        bool low = lowLatency is not null && await lowLatency.IsLowLatencyAsync(stream, cancellationToken).ConfigureAwait(false);
        int rewindSeconds = rewind is null ? options.DvrSeconds : await rewind.RewindSecondsAsync(stream, cancellationToken).ConfigureAwait(false);
        var protect = protection is null ? null : await protection.ProtectionAsync(stream, continues?.State.Protection, cancellationToken).ConfigureAwait(false);
        return new BroadcastSettings(record, low, rewindSeconds, protect);
    }
}
