namespace Broadcast.Media;

/// <summary>
/// The encoder's alternate audio: the audio tracks it sends beside its default one over one publish (an MPEG-TS
/// program's further AAC streams, each with its language), each on a hub of its own, as the encoder's video rungs are
/// (see <see cref="EncoderRung"/>). The default track is this hub's audio, labelled by <see cref="AudioLabel"/>.
/// </summary>
public sealed partial class LiveStream
{
    private readonly List<AlternateAudio> _alternateAudio = new();
    private bool _alternateAudioTaken;
    private AudioLabel _audioLabel = AudioLabel.Unlabelled;

    /// <summary>How the encoder labelled this hub's own audio track; <see cref="AudioLabel.Unlabelled"/> when it did not.</summary>
    public AudioLabel AudioLabel
    {
        get { lock (_gate) return _audioLabel; }
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            lock (_gate) _audioLabel = value;
        }
    }

    /// <summary>The encoder's alternate audio tracks, in the order they appeared.</summary>
    public IReadOnlyList<AlternateAudio> AlternateAudioTracks
    {
        get { lock (_gate) return _alternateAudio.ToArray(); }
    }

    /// <summary>
    /// The hub of the encoder's alternate audio track <paramref name="trackId"/> (an MPEG-TS PID), made on its first use
    /// with <paramref name="label"/>. Null with a reason when the track may not join: the alternate audio was already
    /// taken at the start of the broadcast (players hold a master playlist that cannot gain a rendition),
    /// <paramref name="maxTracks"/> audio tracks already exist counting the default (memory per publisher stays bounded),
    /// or the broadcast ended.
    /// </summary>
    public LiveStream? AlternateAudioTrack(int trackId, AudioLabel label, int maxTracks, out string? refusal)
    {
        ArgumentNullException.ThrowIfNull(label);
        refusal = null;
        lock (_gate)
        {
            foreach (var track in _alternateAudio)
                if (track.TrackId == trackId) return track.Hub;
            if (_completed) refusal = "the broadcast ended";
            else if (_alternateAudioTaken) refusal = $"audio track {trackId} started after the renditions were set at the start of the broadcast";
            else if (_alternateAudio.Count + 1 >= maxTracks) refusal = $"more than {maxTracks} audio tracks";
            if (refusal is not null) return null;
            var hub = new LiveStream($"{Name}/audio{trackId}", TimeProvider) { Tag = Tag };
            hub._audioLabel = label;
            _alternateAudio.Add(new AlternateAudio(trackId, label, hub));
            return hub;
        }
    }

    /// <summary>
    /// Takes the alternate audio tracks that have carried a frame so far; from now on no track joins. The packager asks
    /// once, when it has seen the broadcast's first frames: a track that stayed silent until then would hold back a
    /// master playlist that waits for every rendition's first segment.
    /// </summary>
    public IReadOnlyList<AlternateAudio> TakeAlternateAudio()
    {
        lock (_gate)
        {
            _alternateAudioTaken = true;
            return _alternateAudio.Where(t => t.Hub.Audio is not null).ToArray();
        }
    }

    /// <summary>
    /// Publishes a frame of an alternate audio track (one of <see cref="AlternateAudioTracks"/>): placed on the
    /// broadcast's timeline as this hub's own frames are, then written to the track's hub. Takes over the caller's reference.
    /// </summary>
    public void WriteAlternateAudio(LiveStream track, MediaFrame frame) => WriteBeside(track, frame);
}

/// <summary>One of the encoder's alternate audio tracks: its id in the publish (an MPEG-TS PID), its label and its hub.</summary>
public sealed record AlternateAudio(int TrackId, AudioLabel Label, LiveStream Hub);
