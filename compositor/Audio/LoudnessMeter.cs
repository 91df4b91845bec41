namespace Broadcast.Compositor.Audio;

/// <summary>
/// Programme loudness per ITU-R BS.1770-4 for 48 kHz stereo: momentary loudness (the last 400 ms block, ungated) and
/// integrated loudness (gated over everything measured). Memory stays bounded for a programme of any length: gating
/// blocks are kept as a histogram of 0.01 LU bins with each bin's summed power, not one by one.
/// </summary>
public sealed class LoudnessMeter
{
    // BS.1770-4 §2.2: 400 ms gating blocks overlapping by 75 %, i.e. a new block every 100 ms (4800 frames).
    private const int StepFrames = ProgramAudio.SampleRate / 10;
    private const int StepsPerBlock = 4;

    // BS.1770-4 §2.8 (Annex 1, equation 7): absolute gate −70 LKFS, relative gate 10 LU below the absolute-gated level.
    private const double AbsoluteGate = -70;
    private const double RelativeGate = -10;

    private const double BinsPerLu = 100;
    private const int Bins = 100 * (int)BinsPerLu; // −70 … +30 LKFS

    private readonly Biquad[] _shelf = [KWeighting.Shelf(), KWeighting.Shelf()];
    private readonly Biquad[] _highPass = [KWeighting.HighPass(), KWeighting.HighPass()];
    private readonly double[] _stepEnergy = new double[StepsPerBlock]; // sum of both channels' squares per 100 ms step, a ring
    private readonly long[] _binCount = new long[Bins];
    private readonly double[] _binPower = new double[Bins];
    private double _currentStep;
    private int _framesInStep;
    private long _steps;

    /// <summary>The last 400 ms block's loudness in LUFS; null before the first block.</summary>
    public double? Momentary { get; private set; }

    /// <summary>Gating blocks measured so far.</summary>
    public long Blocks => Math.Max(0, _steps - StepsPerBlock + 1);

    /// <summary>Measures interleaved stereo samples, any number of frames at a time.</summary>
    public void Add(ReadOnlySpan<float> samples)
    {
        if (samples.Length % ProgramAudio.Channels != 0) throw new ArgumentException("stereo samples come in pairs", nameof(samples));
        for (int i = 0; i < samples.Length; i += 2)
        {
            // §2.1: the K-weighting pre-filter (a high-frequency shelf, then the RLB high-pass) per channel, then
            // the mean square; channel weights G are 1.0 for left and right.
            double left = _highPass[0].Next(_shelf[0].Next(samples[i]));
            double right = _highPass[1].Next(_shelf[1].Next(samples[i + 1]));
            _currentStep += (left * left) + (right * right);
            if (++_framesInStep == StepFrames) EndStep();
        }
    }

    /// <summary>
    /// Integrated loudness in LUFS (BS.1770-4 §2.8): the mean power of the blocks above −70 LKFS gives the relative
    /// gate 10 LU below it; the mean power of the blocks above both gates is the result. Null when no block passes.
    /// </summary>
    public double? Integrated()
    {
        long count = 0;
        double power = 0;
        for (int bin = 0; bin < Bins; bin++)
        {
            count += _binCount[bin];
            power += _binPower[bin];
        }

        if (count == 0) return null;
        double relativeGate = Loudness(power / count) + RelativeGate;
        count = 0;
        power = 0;
        for (int bin = 0; bin < Bins; bin++)
        {
            // A block is above the gate when its bin's centre is: at most half a bin (0.005 LU) of blocks misjudged.
            if (AbsoluteGate + ((bin + 0.5) / BinsPerLu) <= relativeGate) continue;
            count += _binCount[bin];
            power += _binPower[bin];
        }

        return count == 0 ? null : Loudness(power / count);
    }

    private void EndStep()
    {
        _stepEnergy[_steps % StepsPerBlock] = _currentStep;
        _steps++;
        _currentStep = 0;
        _framesInStep = 0;
        if (_steps < StepsPerBlock) return;
        double energy = 0;
        foreach (double step in _stepEnergy) energy += step;
        double power = energy / (StepFrames * StepsPerBlock); // §2.3: Σ G_i · z_i, z_i the mean square over the block
        double loudness = Loudness(power);
        Momentary = loudness;
        if (loudness <= AbsoluteGate) return;
        int bin = Math.Min(Bins - 1, (int)((loudness - AbsoluteGate) * BinsPerLu));
        _binCount[bin]++;
        _binPower[bin] += power;
    }

    /// <summary>BS.1770-4 §2.4, equation 2: L = −0.691 + 10 log10 Σ G_i · z_i.</summary>
    private static double Loudness(double power) => power <= 0 ? double.NegativeInfinity : -0.691 + (10 * Math.Log10(power));
}

/// <summary>The two K-weighting stages of BS.1770-4 at 48 kHz, with the coefficients the Recommendation gives.</summary>
internal static class KWeighting
{
    /// <summary>Stage 1, the head's acoustic effect: a high-frequency shelf (BS.1770-4 Annex 1, Table 1).</summary>
    public static Biquad Shelf() => new(1.53512485958697, -2.69169618940638, 1.19839281085285, -1.69065929318241, 0.73248077421585);

    /// <summary>Stage 2, the RLB weighting curve: a high-pass (BS.1770-4 Annex 1, Table 2).</summary>
    public static Biquad HighPass() => new(1.0, -2.0, 1.0, -1.99004745483398, 0.99007225036621);
}

/// <summary>A second-order IIR section in direct form I, normalised so a0 = 1.</summary>
internal sealed class Biquad(double b0, double b1, double b2, double a1, double a2)
{
    private double _x1, _x2, _y1, _y2;

    public double Next(double x)
    {
        double y = (b0 * x) + (b1 * _x1) + (b2 * _x2) - (a1 * _y1) - (a2 * _y2);
        _x2 = _x1;
        _x1 = x;
        _y2 = _y1;
        _y1 = y;
        return y;
    }
}
