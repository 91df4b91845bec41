using Broadcast.Media.Codecs;

namespace Broadcast.Media.Flv;

/// <summary>
/// An Enhanced RTMP v2 multitrack publish's audio tracks other than track 0 (enhanced-rtmp-v2, "Multitrack"): each the
/// encoder's alternate audio (<see cref="LiveStream.AlternateAudioTrack"/>) on a hub of its own, AAC only (FourCC
/// <c>mp4a</c>, checked by the caller), its AudioSpecificConfig from its own sequence start. The tags carry no language,
/// so the tracks are untagged. A track the hub refuses (over the cap, or after the renditions were set) is dropped and
/// named once; the publish goes on.
/// </summary>
internal sealed class FlvAlternateAudioTracks(LiveStream source, int maxTracks, Action<int, string>? refused)
{
    // One per track id seen: a byte, so at most 255 entries.
    private readonly Dictionary<byte, Track> _tracks = new();

    private sealed class Track
    {
        public LiveStream? Hub;
        public AudioTrack? Audio;
    }

    /// <summary>One packet of audio track <paramref name="trackId"/> (not 0): 0 SequenceStart, 1 CodedFrames, the rest ignored.</summary>
    public bool TryWrite(long timestampMs, byte trackId, byte packetType, ReadOnlySpan<byte> payload, out string? error)
    {
        error = null;
        if (!_tracks.TryGetValue(trackId, out var track))
        {
            track = new Track { Hub = source.AlternateAudioTrack(trackId, AudioLabel.Unlabelled, maxTracks, out string? refusal) };
            _tracks[trackId] = track;
            if (track.Hub is null) refused?.Invoke(trackId, refusal ?? "refused");
        }
        if (track.Hub is not { } hub) return true;
        switch (packetType)
        {
            case 0:
                if (payload.IsEmpty)
                {
                    error = $"empty AAC sequence header on audio track {trackId}";
                    return false;
                }
                if (track.Audio is not null && track.Audio.DecoderConfig.Span.SequenceEqual(payload)) return true;
                if (!MediaTrackFactory.TryCreateAudio(Codec.Aac, payload, out var audio, out error)) return false;
                track.Audio = audio;
                hub.SetTrack(audio);
                return true;
            case 1:
                if (track.Audio is not { } config)
                {
                    error = $"AAC frame of audio track {trackId} before its sequence header (AudioSpecificConfig)";
                    return false;
                }
                if (payload.IsEmpty) return true;
                long dts = Timescales.Rescale(timestampMs, Timescales.Milliseconds, config.Timescale);
                source.WriteAlternateAudio(hub, MediaFrame.Rent(config, dts, 0, true, payload));
                return true;
            default:
                return true; // SequenceEnd; MultichannelConfig (the AudioSpecificConfig has the layout for AAC)
        }
    }
}
