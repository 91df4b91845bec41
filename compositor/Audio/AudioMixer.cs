namespace Broadcast.Compositor.Audio;

/// <summary>One input's place on the mixing desk.</summary>
public sealed record MixSettings(double GainDecibels = 0, bool Muted = false, bool Solo = false);

/// <summary>
/// The program's audio bus: each input's block of 48 kHz stereo float samples times its gain, summed, limited (a
/// look-ahead <see cref="PeakLimiter"/>, −1 dBFS) and metered (<see cref="LoudnessMeter"/>). Mute silences an input;
/// when any input is soloed only the soloed ones are heard. A gain that changes between blocks (a fader move, a mute,
/// a solo) ramps linearly over the next block, so no change clicks. An input without a block this time (dropped,
/// late) contributes silence and the program goes on. Mixing allocates nothing.
/// </summary>
public sealed class AudioMixer
{
    private readonly List<Channel> _channels = [];
    private readonly int _blockFrames;

    public AudioMixer(int blockFrames = ProgramAudio.BlockFrames, PeakLimiter? limiter = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockFrames);
        _blockFrames = blockFrames;
        Limiter = limiter ?? new PeakLimiter();
    }

    public PeakLimiter Limiter { get; }

    /// <summary>The program's loudness, measured after the limiter.</summary>
    public LoudnessMeter Loudness { get; } = new();

    /// <summary>Interleaved samples in one block (frames × 2).</summary>
    public int BlockSamples => _blockFrames * ProgramAudio.Channels;

    public void AddInput(string id, MixSettings? settings = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        if (Find(id) is not null) throw new ArgumentException($"input '{id}' is already on the mixer", nameof(id));
        var channel = new Channel(id);
        Apply(channel, settings ?? new MixSettings());
        channel.Applied = Target(channel, AnySolo());
        _channels.Add(channel);
    }

    public bool RemoveInput(string id) => _channels.RemoveAll(c => c.Id == id) > 0;

    /// <summary>Changes an input's gain, mute and solo from the next block on.</summary>
    public void Set(string id, MixSettings settings)
        => Apply(Find(id) ?? throw new KeyNotFoundException($"input '{id}' is not on the mixer"), settings);

    public MixSettings Settings(string id) => (Find(id) ?? throw new KeyNotFoundException($"input '{id}' is not on the mixer")).Settings;

    /// <summary>
    /// Mixes one block. <paramref name="blocks"/> holds this block's interleaved samples per input id
    /// (<see cref="BlockSamples"/> each); an input with none is silent this time. <paramref name="bus"/> receives the
    /// limited mix, which lags the inputs by <see cref="PeakLimiter.LatencyFrames"/>.
    /// </summary>
    public void Mix(IReadOnlyDictionary<string, float[]> blocks, Span<float> bus)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        if (bus.Length != BlockSamples) throw new ArgumentException($"the bus takes {BlockSamples} samples a block, not {bus.Length}", nameof(bus));
        bus.Clear();
        bool anySolo = AnySolo();
        foreach (var channel in _channels)
        {
            double from = channel.Applied, to = Target(channel, anySolo);
            channel.Applied = to;
            if (!blocks.TryGetValue(channel.Id, out var block))
            {
                channel.Meter.AddSilence();
                continue;
            }
            if (block.Length != BlockSamples) throw new ArgumentException($"input '{channel.Id}' brought {block.Length} samples, not {BlockSamples}",
                nameof(blocks));
            // The input's own level, before its fader and mute (what a channel strip's meter shows).
            channel.Meter.Add(block);
            if (from == 0 && to == 0) continue;
            // The ramp reaches the target on the block's last frame; both samples of a frame get the same gain.
            double step = (to - from) / _blockFrames;
            for (int frame = 0; frame < _blockFrames; frame++)
            {
                float gain = (float)(from + (step * (frame + 1)));
                int i = frame * 2;
                bus[i] += block[i] * gain;
                bus[i + 1] += block[i + 1] * gain;
            }
        }

        Limiter.Process(bus);
        Loudness.Add(bus);
        Bus.Add(bus);
    }

    /// <summary>The program bus's level, after the limiter.</summary>
    public PeakMeter Bus { get; } = new();

    /// <summary>Input <paramref name="id"/>'s level meter (its own level, before its fader), or null when it is not on the mixer.</summary>
    public PeakMeter? Meter(string id) => Find(id)?.Meter;

    /// <summary>A gain the mixer takes: finite, at most +24 dB.</summary>
    public static bool IsGain(double decibels) => double.IsFinite(decibels) && decibels <= 24;

    private static void Apply(Channel channel, MixSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (!IsGain(settings.GainDecibels))
            throw new ArgumentOutOfRangeException(nameof(settings),
                $"gain {settings.GainDecibels} dB: a finite level up to +24 dB (mute for silence)");
        channel.Settings = settings;
        channel.Linear = ProgramAudio.Amplitude(settings.GainDecibels);
    }

    private static double Target(Channel channel, bool anySolo) =>
        channel.Settings.Muted || (anySolo && !channel.Settings.Solo) ? 0 : channel.Linear;

    private bool AnySolo()
    {
        foreach (var channel in _channels)
        {
            if (channel.Settings.Solo) return true;
        }

        return false;
    }

    private Channel? Find(string id)
    {
        foreach (var channel in _channels)
        {
            if (channel.Id == id) return channel;
        }

        return null;
    }

    private sealed class Channel(string id)
    {
        public string Id { get; } = id;

        public MixSettings Settings { get; set; } = new();

        public double Linear { get; set; } = 1;

        /// <summary>The gain reached at the end of the last block: where the next ramp starts.</summary>
        public double Applied { get; set; }

        public PeakMeter Meter { get; } = new();
    }
}
