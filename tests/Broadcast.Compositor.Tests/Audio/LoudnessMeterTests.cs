using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Broadcast.Compositor.Audio;
using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.Compositor.Tests.Audio;

/// <summary>The meter against ffmpeg's <c>ebur128</c> filter (libavfilter's BS.1770 meter) on the same samples.</summary>
[Trait("Kind", "Component")]
public sealed partial class LoudnessMeterTests(ITestOutputHelper output)
{
    /// <summary>name, an ffmpeg audio source (lavfi), the filter that makes it stereo at its level.</summary>
    public static TheoryData<string, string, string> Signals() => new()
    {
        { "1 kHz sine at -20 dB", "sine=frequency=1000:sample_rate=48000:duration=8", "volume=-20dB,pan=stereo|c0=c0|c1=c0" },
        { "different channels, 60 Hz weighted down by the RLB high-pass", "aevalsrc=exprs=0.3*sin(2*PI*440*t)|0.4*sin(2*PI*60*t):s=48000:d=8", "anull" },
        { "pink noise", "anoisesrc=color=pink:amplitude=0.25:sample_rate=48000:duration=10:seed=7", "pan=stereo|c0=c0|c1=c0" },
        { "silences under the absolute gate", "aevalsrc=exprs=0.5*sin(2*PI*1000*t)*lt(mod(t\\,3)\\,1):s=48000:d=12", "pan=stereo|c0=c0|c1=c0" },
        { "quiet passages under the relative gate", "aevalsrc=exprs=0.5*sin(2*PI*1000*t)*if(lt(mod(t\\,4)\\,2)\\,1\\,0.02):s=48000:d=16", "pan=stereo|c0=c0|c1=c0" },
    };

    [Theory]
    [MemberData(nameof(Signals))]
    public async Task Integrated_loudness_matches_ffmpeg_ebur128_within_a_fifth_of_a_LU(string name, string source, string filter)
    {
        using var directory = new TempDirectory("loudness");
        string path = directory.Combine("signal.f32");
        MediaTools.Run("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-f", "lavfi", "-i", source, "-af", filter, "-ac", "2", "-f", "f32le", "-y", path);
        float[] samples = MemoryMarshal.Cast<byte, float>(await File.ReadAllBytesAsync(path)).ToArray();

        var meter = new LoudnessMeter();
        // Uneven pieces, so steps and blocks are cut across calls.
        for (int offset = 0, piece = 2 * 777; offset < samples.Length; offset += piece)
            meter.Add(samples.AsSpan(offset, Math.Min(piece, samples.Length - offset)));

        var result = await ExternalProcess.RunAsync("ffmpeg",
            ["-hide_banner", "-nostdin", "-nostats", "-f", "f32le", "-ar", "48000", "-ac", "2", "-i", path, "-af", "ebur128=framelog=verbose", "-f", "null", "-"],
            TimeSpan.FromMinutes(2));
        Assert.True(result.ExitCode == 0, result.OutputTail);
        var summary = IntegratedLine().Matches(result.OutputTail);
        Assert.True(summary.Count > 0, result.OutputTail);
        double reference = double.Parse(summary[^1].Groups["lufs"].Value, CultureInfo.InvariantCulture);

        double? measured = meter.Integrated();
        output.WriteLine($"{name}: ours {measured:F2} LUFS, ffmpeg ebur128 {reference:F1} LUFS, momentary {meter.Momentary:F2}");
        Assert.NotNull(measured);
        Assert.InRange(measured.Value, reference - 0.2, reference + 0.2);
    }

    [Fact]
    public void Silence_has_no_integrated_loudness_and_momentary_waits_for_a_whole_block()
    {
        var meter = new LoudnessMeter();
        meter.Add(new float[2 * 19_199]);
        Assert.Null(meter.Momentary);
        meter.Add(new float[2]);
        Assert.Equal(1, meter.Blocks);
        Assert.Equal(double.NegativeInfinity, meter.Momentary);
        Assert.Null(meter.Integrated());
        Assert.Throws<ArgumentException>(() => meter.Add(new float[3]));
    }

    [Fact]
    public void Momentary_follows_the_last_400_ms()
    {
        var meter = new LoudnessMeter();
        var loud = Sine(997, 0.5f, 48_000);
        meter.Add(loud);
        double loudMomentary = meter.Momentary!.Value;
        meter.Add(Sine(997, 0.05f, 19_200));
        Assert.InRange(meter.Momentary!.Value, loudMomentary - 20.2, loudMomentary - 19.8);
    }

    internal static float[] Sine(double frequency, float amplitude, int frames)
    {
        var samples = new float[frames * 2];
        for (int n = 0; n < frames; n++) samples[2 * n] = samples[(2 * n) + 1] = amplitude * (float)Math.Sin(2 * Math.PI * frequency * n / 48_000);
        return samples;
    }

    [GeneratedRegex(@"^\s*I:\s+(?<lufs>-?\d+(\.\d+)?) LUFS", RegexOptions.Multiline)]
    private static partial Regex IntegratedLine();
}
