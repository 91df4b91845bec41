namespace Broadcast.Media;

/// <summary>
/// The encoder's own ladder: the video tracks an encoder sends beside its default one over one publish (Enhanced RTMP v2
/// multitrack), each on a hub of its own. The default track (id 0) is this hub's video; the others are rungs the packager
/// serves beside it, with no transcoding.
/// </summary>
public sealed partial class LiveStream
{
    private readonly List<KeyValuePair<int, LiveStream>> _encoderRungs = new();
    private bool _encoderLadderTaken;

    /// <summary>The encoder's extra video tracks (track id to the hub that carries it), in the order they appeared.</summary>
    public IReadOnlyList<KeyValuePair<int, LiveStream>> EncoderRungs
    {
        get { lock (_gate) return _encoderRungs.ToArray(); }
    }

    /// <summary>
    /// The hub of the encoder's video track <paramref name="trackId"/> (not 0: that one is this hub's own video), made on
    /// its first use. Null with a reason when the track may not join: the ladder was already taken at the start of the
    /// broadcast (players hold a master playlist that cannot gain a variant), <paramref name="maxTracks"/> tracks already
    /// exist (memory per publisher stays bounded), or the broadcast ended.
    /// </summary>
    public LiveStream? EncoderRung(int trackId, int maxTracks, out string? refusal)
    {
        ArgumentOutOfRangeException.ThrowIfZero(trackId);
        refusal = null;
        lock (_gate)
        {
            foreach (var rung in _encoderRungs)
                if (rung.Key == trackId) return rung.Value;
            if (_completed) refusal = "the broadcast ended";
            else if (_encoderLadderTaken) refusal = $"video track {trackId} started after the ladder was set at the start of the broadcast";
            else if (_encoderRungs.Count + 1 >= maxTracks) refusal = $"more than {maxTracks} video tracks";
            if (refusal is not null) return null;
            var hub = new LiveStream($"{Name}/track{trackId}", TimeProvider) { Tag = Tag };
            _encoderRungs.Add(new KeyValuePair<int, LiveStream>(trackId, hub));
            return hub;
        }
    }

    /// <summary>
    /// Takes the encoder's ladder as it stands; from now on no track joins it. The transcoder and the packager both ask
    /// after the broadcast's first video frame, when an encoder has sent every track's sequence start, and get the same
    /// answer: whoever asks first sets it.
    /// </summary>
    public IReadOnlyList<KeyValuePair<int, LiveStream>> TakeEncoderLadder()
    {
        lock (_gate)
        {
            _encoderLadderTaken = true;
            return _encoderRungs.ToArray();
        }
    }

    /// <summary>
    /// Publishes a frame of an encoder rung (one of <see cref="EncoderRungs"/>): placed on the broadcast's timeline as this
    /// hub's own frames are, so a reconnect moves every track alike, then written to the rung's hub. Takes over the
    /// caller's reference.
    /// </summary>
    public void WriteEncoderRung(LiveStream rung, MediaFrame frame) => WriteBeside(rung, frame);

    /// <summary>Places a frame of a track carried on a hub beside this one on this broadcast's timeline, then writes it there.</summary>
    private void WriteBeside(LiveStream rung, MediaFrame frame)
    {
        ArgumentNullException.ThrowIfNull(rung);
        ArgumentNullException.ThrowIfNull(frame);
        lock (_gate)
        {
            if (_completed)
            {
                frame.Release();
                return;
            }
            _continuity.Wrote();
            _continuity.Join(frame);
        }
        rung.Write(frame);
    }
}
