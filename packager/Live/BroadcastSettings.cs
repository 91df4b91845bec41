using Broadcast.Media;
using Broadcast.Storage;

namespace Broadcast.Packager.Live;

/// <summary>
/// What one broadcast of a channel is packaged with, decided once at its start (<see cref="StreamPackager"/>'s input
/// beside its store, clock and the node's <see cref="PackagerOptions"/>). The per-broadcast policies decide recording,
/// low latency, the rewind window and the encryption; the first frames decide the renditions. The defaults are a plain
/// broadcast: the source's video and its audio, not recorded, no parts, no encryption.
/// </summary>
public sealed record BroadcastSettings
{
    /// <summary>The channel's name: the first key segment of everything the broadcast stores.</summary>
    public required string Channel { get; init; }

    /// <summary>The video renditions, the leading one (which times the audio and the ad breaks) first; empty for audio only.</summary>
    public IReadOnlyList<string> VideoRenditions { get; init; } = [StoreKeys.SourceRendition];

    /// <summary>The default audio rendition's name; null for video only (and then no alternate audio either).</summary>
    public string? AudioRendition { get; init; } = StoreKeys.AudioRendition;

    /// <summary>The encoder's alternate audio tracks, audio index 1 onwards, each with a rendition name of its own.</summary>
    public IReadOnlyList<AlternateAudioRendition> AlternateAudio { get; init; } = [];

    /// <summary>The default audio track's label (language, purpose); null: unlabelled.</summary>
    public AudioLabel? AudioLabel { get; init; }

    /// <summary>The broadcast's id; null: made from the clock at the start. A continued broadcast keeps the one it continues.</summary>
    public string? BroadcastId { get; init; }

    /// <summary>Keep the broadcast as a recording (VOD manifests at the end, no deletes).</summary>
    public bool Record { get; init; }

    /// <summary>Package with parts: LL-HLS playlists and LL-DASH.</summary>
    public bool LowLatency { get; init; }

    /// <summary>Declare CTA-608 closed captions from the start (see <see cref="StreamPackager.DeclareCaptionsAsync"/>).</summary>
    public bool Captions { get; init; }

    /// <summary>How far back the live manifests reach, in seconds; null: <c>Packager:DvrSeconds</c>.</summary>
    public int? RewindSeconds { get; init; }

    /// <summary>How the media is encrypted; null when it is not.</summary>
    public BroadcastProtection? Protection { get; init; }

    /// <summary>The broadcast a dead node left unfinished that this one continues; null for a new broadcast.</summary>
    public BroadcastContinuation? Continues { get; init; }

    /// <summary>The alternate audio that is packaged: none without a default audio rendition.</summary>
    internal IReadOnlyList<AlternateAudioRendition> PackagedAlternateAudio => AudioRendition is null ? [] : AlternateAudio;

    /// <summary>
    /// Refuses names that cannot be key segments, and renditions that would share a folder with each other or with the
    /// channel's recordings and clips.
    /// </summary>
    internal void Validate()
    {
        if (!StoreKeys.IsValidName(Channel)) throw new ArgumentException($"Channel name '{Channel}' is not a valid key segment.", nameof(Channel));
        string[] audioNames = AudioRendition is null ? [] : [AudioRendition, .. AlternateAudio.Select(a => a.Name)];
        if (audioNames.Concat(VideoRenditions).Distinct(StringComparer.Ordinal).Count() != audioNames.Length + VideoRenditions.Count)
            throw new ArgumentException("Rendition names must differ.", nameof(AlternateAudio));
        foreach (var r in VideoRenditions.Concat(audioNames).Append(StoreKeys.AudioRendition))
            // A rendition's folder sits beside the channel's recordings and clips.
            if (!StoreKeys.IsValidName(r) || StoreKeys.IsChannelFolder(r))
                throw new ArgumentException($"Rendition name '{r}' is not usable.", nameof(VideoRenditions));
    }
}
