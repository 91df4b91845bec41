using Broadcast.Compositor.Audio;
using Broadcast.TestSupport;

namespace Broadcast.Compositor.Tests.Audio;

public sealed class AudioMixerTests
{
    private const int Frames = ProgramAudio.BlockFrames;

    /// <summary>name, each input's settings, inputs that bring no block, the expected bus level once ramps settle.</summary>
    public static TheoryData<string, MixSettings, MixSettings, bool, double> Sums() => new()
    {
        // a is a constant 0.1, b a constant 0.02.
        { "unity", new(), new(), false, 0.12 },
        { "a at -6.02 dB", new(-6.0206), new(), false, 0.07 },
        { "b at +6.02 dB", new(), new(6.0206), false, 0.14 },
        { "a muted", new(Muted: true), new(), false, 0.02 },
        { "b soloed", new(), new(Solo: true), false, 0.02 },
        { "both soloed", new(Solo: true), new(-20, Solo: true), false, 0.102 },
        { "soloed and muted is silent", new(), new(Muted: true, Solo: true), false, 0 },
        { "b missing", new(), new(), true, 0.1 },
    };

    [Theory]
    [MemberData(nameof(Sums))]
    public void Sums_inputs_at_their_gains(string name, MixSettings a, MixSettings b, bool bMissing, double expected)
    {
        var mixer = new AudioMixer();
        mixer.AddInput("a", a);
        mixer.AddInput("b", b);
        var blocks = new Dictionary<string, float[]> { ["a"] = Constant(0.1f) };
        if (!bMissing) blocks["b"] = Constant(0.02f);
        var bus = new float[mixer.BlockSamples];
        for (int i = 0; i < 3; i++) mixer.Mix(blocks, bus);
        Assert.All(bus, s => Assert.True(Math.Abs(s - expected) < 1e-4, $"{name}: {s}, expected {expected}"));
    }

    [Fact]
    public void A_gain_change_ramps_over_the_next_block_without_a_step()
    {
        var mixer = new AudioMixer();
        mixer.AddInput("tone");
        var sine = LoudnessMeterTests.Sine(1000, 0.5f, Frames * 8);
        var bus = new float[mixer.BlockSamples];
        var heard = new List<float>();
        for (int block = 0; block < 8; block++)
        {
            if (block == 3) mixer.Set("tone", new MixSettings(-20));
            if (block == 5) mixer.Set("tone", new MixSettings(Muted: true));
            if (block == 6) mixer.Set("tone", new MixSettings(0));
            mixer.Mix(new Dictionary<string, float[]> { ["tone"] = sine[(block * 2 * Frames)..((block + 1) * 2 * Frames)] }, bus);
            heard.AddRange(bus);
        }

        // The steepest a 0.5 sine at 1 kHz moves between samples, plus the ramp's own share.
        double slope = 0.5 * 2 * Math.PI * 1000 / 48_000;
        for (int i = 2; i < heard.Count; i += 2) Assert.True(Math.Abs(heard[i] - heard[i - 2]) <= slope + 1e-3, $"step of {heard[i] - heard[i - 2]} at frame {i / 2}");
        int latency = mixer.Limiter.LatencyFrames;
        Assert.InRange(Peak(heard, (4 * Frames) + latency, (5 * Frames) + latency), 0.045, 0.051); // settled at -20 dB
        Assert.True(Peak(heard, (6 * Frames) + latency - 1, (6 * Frames) + latency) < 1e-6, "muted by the end of its ramp");
        Assert.InRange(Peak(heard, (7 * Frames) + latency, 8 * Frames), 0.49, 0.5); // back at unity
    }

    [Fact]
    public void Limiter_holds_a_plus_6_dBFS_input_under_minus_1_dBFS()
    {
        var mixer = new AudioMixer();
        mixer.AddInput("hot", new MixSettings(6));
        mixer.AddInput("quiet");
        float ceiling = (float)ProgramAudio.Amplitude(-1);
        var bus = new float[mixer.BlockSamples];
        var loud = LoudnessMeterTests.Sine(440, 1f, Frames * 40);
        var peaks = new List<float>();
        for (int block = 0; block < 40; block++)
        {
            // A sudden onset after silence and a full-scale sine at +6 dB: the worst cases for a limiter.
            var piece = block < 5 ? new float[2 * Frames] : loud[(block * 2 * Frames)..((block + 1) * 2 * Frames)];
            mixer.Mix(new Dictionary<string, float[]> { ["hot"] = piece, ["quiet"] = Constant(0.01f) }, bus);
            peaks.Add(bus.Max(Math.Abs));
        }

        Assert.All(peaks, p => Assert.True(p <= ceiling, $"{p} over the ceiling {ceiling}"));
        Assert.True(peaks.Skip(10).Min() > 0.8f * ceiling, "the limiter pumps far below its ceiling");
    }

    [Fact]
    public void Limiter_passes_a_signal_under_its_ceiling_untouched_but_delayed()
    {
        var limiter = new PeakLimiter();
        var input = LoudnessMeterTests.Sine(440, 0.8f, 4 * Frames);
        var samples = (float[])input.Clone();
        limiter.Process(samples);
        int delay = 2 * limiter.LatencyFrames;
        Assert.All(samples[..delay], s => Assert.Equal(0f, s));
        for (int i = delay; i < samples.Length; i++) Assert.Equal(input[i - delay], samples[i]);
    }

    [Fact]
    public void Refuses_bad_settings_and_blocks()
    {
        var mixer = new AudioMixer();
        mixer.AddInput("a");
        Assert.Throws<ArgumentException>(() => mixer.AddInput("a"));
        Assert.Throws<ArgumentOutOfRangeException>(() => mixer.Set("a", new MixSettings(double.NaN)));
        Assert.Throws<ArgumentOutOfRangeException>(() => mixer.Set("a", new MixSettings(30)));
        Assert.Throws<KeyNotFoundException>(() => mixer.Set("nobody", new MixSettings()));
        Assert.Throws<ArgumentException>(() => mixer.Mix(new Dictionary<string, float[]> { ["a"] = new float[10] }, new float[mixer.BlockSamples]));
        Assert.Throws<ArgumentException>(() => mixer.Mix(new Dictionary<string, float[]>(), new float[10]));
        Assert.True(mixer.RemoveInput("a"));
        Assert.False(mixer.RemoveInput("a"));
    }

    [Fact]
    public void Mixing_allocates_nothing()
    {
        var mixer = new AudioMixer();
        mixer.AddInput("a", new MixSettings(-3));
        mixer.AddInput("b", new MixSettings(Solo: true));
        var blocks = new Dictionary<string, float[]> { ["a"] = LoudnessMeterTests.Sine(440, 0.9f, Frames), ["b"] = LoudnessMeterTests.Sine(660, 0.9f, Frames) };
        var bus = new float[mixer.BlockSamples];
        mixer.Mix(blocks, bus);
        long allocated = Allocations.LeastOf(3, () =>
        {
            for (int i = 0; i < 50; i++) mixer.Mix(blocks, bus);
        });
        Assert.Equal(0, allocated);
        Assert.NotNull(mixer.Loudness.Momentary);
    }

    private static float[] Constant(float value)
    {
        var block = new float[2 * Frames];
        Array.Fill(block, value);
        return block;
    }

    private static float Peak(List<float> samples, int fromFrame, int toFrame)
    {
        float peak = 0;
        for (int frame = fromFrame; frame < toFrame; frame++) peak = Math.Max(peak, Math.Max(Math.Abs(samples[2 * frame]), Math.Abs(samples[(2 * frame) + 1])));
        return peak;
    }
}
