using Broadcast.Media;
using Broadcast.Storage;

namespace Broadcast.Packager.Live;

/// <summary>Decides, per broadcast, whether it is recorded (segments kept, VOD manifests written). Owned by the packager;
/// the control plane may replace it.</summary>
public interface IRecordingPolicy
{
    ValueTask<bool> ShouldRecordAsync(LiveStream stream, CancellationToken cancellationToken);
}

/// <summary>The default: <c>Packager:RecordByDefault</c>.</summary>
public sealed class DefaultRecordingPolicy(Microsoft.Extensions.Options.IOptions<PackagerOptions> options) : IRecordingPolicy
{
    public ValueTask<bool> ShouldRecordAsync(LiveStream stream, CancellationToken cancellationToken) =>
        ValueTask.FromResult(options.Value.RecordByDefault);
}

/// <summary>
/// Decides, per broadcast, its rewind window: how far back from the live edge its live manifests reach (start-over and
/// rewind), in seconds; 0 keeps only the live window (<c>Packager:WindowSegments</c>). The control plane answers with
/// the channel's <c>rewindSeconds</c>.
/// </summary>
public interface IRewindPolicy
{
    ValueTask<int> RewindSecondsAsync(LiveStream stream, CancellationToken cancellationToken);
}

/// <summary>The default: <c>Packager:DvrSeconds</c>.</summary>
public sealed class DefaultRewindPolicy(Microsoft.Extensions.Options.IOptions<PackagerOptions> options) : IRewindPolicy
{
    public ValueTask<int> RewindSecondsAsync(LiveStream stream, CancellationToken cancellationToken) =>
        ValueTask.FromResult(options.Value.DvrSeconds);
}

/// <summary>
/// Names, per broadcast, the encoder's audio tracks that carry no language tag (Enhanced RTMP multitrack audio, an
/// MPEG-TS stream without an ISO 639 descriptor): entry i names the broadcast's audio track i, 0 being the default one
/// and the alternates following in the order the encoder sent them. The control plane answers with the channel's
/// <c>audioTracks</c>; a track the encoder labelled keeps its label.
/// </summary>
public interface IAudioTrackNames
{
    ValueTask<IReadOnlyList<AudioLabel>> AudioTrackNamesAsync(LiveStream stream, CancellationToken cancellationToken);
}

/// <summary>
/// Asked before the packager deletes a broadcast's segments and init segments (slid out of its window, or its last
/// window once the next broadcast started): which of them something else still names, so they stay. The control plane
/// answers with the clips cut from that broadcast. One call per delete batch; every key is below
/// <c>{channel}/</c> and of broadcast <c>broadcastId</c>. A call that throws deletes nothing of that batch.
/// </summary>
public interface IRetentionHold
{
    ValueTask<IReadOnlySet<string>> HeldAsync(string channel, string broadcastId, IReadOnlyList<string> keys, CancellationToken cancellationToken);
}

/// <summary>The default: nothing is held, retention deletes what left the window.</summary>
public sealed class NoRetentionHold : IRetentionHold
{
    private static readonly IReadOnlySet<string> None = new HashSet<string>(StringComparer.Ordinal);

    public ValueTask<IReadOnlySet<string>> HeldAsync(string channel, string broadcastId, IReadOnlyList<string> keys,
        CancellationToken cancellationToken) => ValueTask.FromResult(None);
}

/// <summary>Deletes of one broadcast's objects, less those an <see cref="IRetentionHold"/> holds.</summary>
internal static class RetentionHolds
{
    /// <summary>
    /// Deletes <paramref name="keys"/> but the held ones, and returns those; throws (deleting nothing) when the hold
    /// cannot say.
    /// </summary>
    public static async Task<IReadOnlyList<string>> DeleteUnheldAsync(ISegmentStore store, IRetentionHold hold, string channel,
        string broadcastId, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        if (keys.Count == 0) return [];
        var held = await hold.HeldAsync(channel, broadcastId, keys, cancellationToken).ConfigureAwait(false);
        var delete = held.Count == 0 ? keys : keys.Where(k => !held.Contains(k)).ToList();
        if (delete.Count > 0) await store.DeleteAsync(delete, cancellationToken).ConfigureAwait(false);
        return held.Count == 0 ? [] : keys.Where(held.Contains).ToList();
    }
}

/// <summary>A snapshot of one stream's packaging, for the dashboard and /metrics.</summary>
public sealed record StreamPackagerStatus(
    string Channel,
    string BroadcastId,
    bool Recording,
    bool Ended,
    long SegmentsWritten,
    TimeSpan? LastSegmentDuration,
    long TargetDurationSeconds,
    IReadOnlyList<string> Warnings)
{
    /// <summary>The broadcast's rewind window (read from its channel when it started); 0: the live window only.</summary>
    public int RewindSeconds { get; init; }

    /// <summary>
    /// Bytes of the segments retention keeps for it now: those its live manifests name, or every one when recorded (the
    /// space its rewind window or recording takes, init segments and parts aside).
    /// </summary>
    public long KeptBytes { get; init; }

    /// <summary>The audio renditions it serves, the default one first (<c>audio</c>, then <c>audio-fr</c>…); empty without audio.</summary>
    public IReadOnlyList<string> AudioRenditions { get; init; } = [];
}

/// <summary>
/// What a broadcast's recording holds, counted as the packager stored it: its duration in integer ticks of
/// <see cref="Timescale"/> (the first variant's segments, as its VOD playlist's EXTINF values add up) and the bytes of
/// every object it stored for it (segments, init segments, VOD playlists, the recording's master and MPD).
/// <see cref="HasMpd"/> is false for an AES-128 broadcast: DASH cannot carry whole-segment encryption, so none was written.
/// </summary>
public sealed record RecordedMedia(long DurationTicks, int Timescale, long Bytes, bool HasMpd = true)
{
    /// <summary>The duration in whole milliseconds, rounded to nearest.</summary>
    public long DurationMilliseconds => Timescales.Rescale(DurationTicks, Timescale, Timescales.Milliseconds);
}

/// <summary>A broadcast's packaging finished (final manifests written): its last status and, when it was recorded, its recording.</summary>
public sealed record BroadcastFinished(StreamPackagerStatus Status, RecordedMedia? Recording);

/// <summary>Per-stream packager state for dashboards and metrics.</summary>
public interface IPackagerStatus
{
    IReadOnlyList<StreamPackagerStatus> Streams { get; }

    StreamPackagerStatus? Find(string channel);
}

/// <summary>A manifest object was replaced in the store (the origin uses it for blocking playlist reloads).</summary>
public sealed record ManifestUpdated(string Channel, string Key, long LastSegmentNumber);

public interface IManifestNotifications
{
    event Action<ManifestUpdated>? ManifestUpdated;
}

/// <summary>Cache-Control values the packager stores with each object.</summary>
public static class CachePolicies
{
    /// <summary>Segments and init segments: their URLs are never reused (broadcast id in the name).</summary>
    public const string Immutable = Broadcast.Storage.StoreCacheControl.Immutable;

    /// <summary>Recording manifests: unique URLs whose content no longer changes.</summary>
    public const string Vod = "public, max-age=86400";

    /// <summary>Live manifests: at most half a segment, so an edge never hides a whole new segment.</summary>
    public static string Live(PackagerOptions options) => $"public, max-age={options.LiveManifestMaxAgeSeconds}";

    /// <summary>
    /// Live manifests after unpublish. Short on purpose: the channel's next broadcast rewrites the same URL
    /// (index.m3u8, manifest.mpd), and a day-long cache would hide it.
    /// </summary>
    public static string Ended(PackagerOptions options) => $"public, max-age={options.SegmentSeconds}";
}

/// <summary>
/// One of the encoder's alternate audio tracks as the packager serves it: its rendition's store name (see
/// <see cref="Manifests.AudioRenditionLabel.RenditionNames"/>) and its label.
/// </summary>
public sealed record AlternateAudioRendition(string Name, AudioLabel Label);
