using Broadcast.Compositor.Audio;

namespace Broadcast.Compositor.Tests.Audio;

/// <summary>The control room's level meters: a sample peak over the last ~300 ms, in dBFS, and who gets metered where.</summary>
public sealed class PeakMeterTests
{
    private static float[] Block(int samples, float amplitude) => Enumerable.Range(0, samples).Select(i => i % 2 == 0 ? amplitude : -amplitude).ToArray();

    [Fact]
    public void A_reading_is_the_window_peak_in_dbfs_and_silence_once_it_passed()
    {
        var meter = new PeakMeter();
        Assert.Null(meter.Decibels);
        meter.Add(Block(2048, 0.5f));
        Assert.Equal(-6.0, meter.Decibels);
        meter.Add(Block(2048, 0.1f)); // the louder block is still in the window
        Assert.Equal(-6.0, meter.Decibels);
        for (int i = 0; i < PeakMeter.WindowBlocks - 1; i++) meter.AddSilence();
        Assert.Equal(-20.0, meter.Decibels); // the 0.5 block left; the 0.1 one is the last in the window
        meter.AddSilence();
        Assert.Null(meter.Decibels);
        meter.Add([float.NaN, 1e-6f]); // -120 dBFS is silence; a NaN block never poisons the reading
        Assert.Null(meter.Decibels);
    }

    [Fact]
    public void The_mixer_meters_each_input_before_its_fader_and_the_bus_after_the_mix()
    {
        var mixer = new AudioMixer();
        mixer.AddInput("host");
        mixer.AddInput("music", new MixSettings(Muted: true));
        var bus = new float[mixer.BlockSamples];
        for (int i = 0; i < 4; i++)
        {
            mixer.Mix(new Dictionary<string, float[]> { ["host"] = Block(mixer.BlockSamples, 0.25f), ["music"] = Block(mixer.BlockSamples, 0.5f) }, bus);
        }
        Assert.Equal(-12.0, mixer.Meter("host")!.Decibels);
        Assert.Equal(-6.0, mixer.Meter("music")!.Decibels); // muted, yet its own level shows
        Assert.InRange(mixer.Bus.Decibels!.Value, -12.5, -11.5); // the host alone in the mix
        Assert.Null(mixer.Meter("nobody"));
    }
}
