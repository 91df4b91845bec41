namespace Broadcast.Compositor.Video;

/// <summary>
/// For one axis of a resize, each target sample's source samples and their weights (14-bit fixed point, summing to
/// exactly <see cref="One"/>). Enlarging uses bilinear taps, centre-aligned (a target sample's centre maps to the
/// matching point of the source, samples past the edge repeat it). Reducing uses area taps: each source sample
/// weighs what share of the target sample's footprint it covers, so detail finer than the target averages out
/// instead of aliasing (a 1080p camera in a 384-pixel inset). Arrays are kept and grown, never shrunk.
/// </summary>
/// <remarks>
/// Besides each sample's own run of weights (the vertical pass reads one run per target row), the taps come padded to
/// one count for every target sample (<see cref="Taps"/>, zero weights where a sample weighs fewer), so the horizontal
/// pass runs one fixed-length loop per target sample instead of a loop whose length changes from one sample to the next.
/// </remarks>
internal sealed class ResampleTaps
{
    public const int Bits = 14, One = 1 << Bits;

    private int[] _first = [], _count = [], _offset = [], _weights = [], _paddedFirst = [], _paddedWeights = [];
    private (int Source, int Target) _built;

    /// <summary>Per target sample, its first source sample.</summary>
    public int[] FirstSamples => _first;

    /// <summary>The most source samples any target sample weighs: the padded tables' weights per target sample.</summary>
    public int Taps { get; private set; }

    /// <summary>
    /// Per target sample, the first of its <see cref="Taps"/> source samples: its own first, moved back where the padded
    /// run would pass the source's end, so every one of them lies within the source.
    /// </summary>
    public int[] PaddedFirstSamples => _paddedFirst;

    /// <summary>Per target sample, <see cref="Taps"/> weights from its padded first sample on (zero where it weighs none).</summary>
    public int[] PaddedWeights => _paddedWeights;

    /// <summary>The weights of target sample <paramref name="index"/>'s source samples, from its first on.</summary>
    public ReadOnlySpan<int> Weights(int index) => _weights.AsSpan(_offset[index], _count[index]);

    /// <summary>The taps of a resize from <paramref name="sourceLength"/> to <paramref name="targetLength"/> samples;
    /// kept while the lengths stay.</summary>
    public void Build(int sourceLength, int targetLength)
    {
        // A program resizes the same tiles frame after frame: the tables of the last resize are those of the next.
        if (_built == (sourceLength, targetLength)) return;
        if (_first.Length < targetLength)
        {
            _first = new int[targetLength];
            _count = new int[targetLength];
            _offset = new int[targetLength];
        }

        int most = sourceLength + (2 * targetLength);
        if (_weights.Length < most) _weights = new int[most];
        int next = 0;
        for (int i = 0; i < targetLength; i++)
        {
            _offset[i] = next;
            next += sourceLength > targetLength ? Area(i, sourceLength, targetLength, next) : Bilinear(i, sourceLength, targetLength, next);
            _count[i] = next - _offset[i];
        }

        Pad(sourceLength, targetLength);
        _built = (sourceLength, targetLength);
    }

    private void Pad(int sourceLength, int targetLength)
    {
        int taps = 1;
        for (int i = 0; i < targetLength; i++) taps = Math.Max(taps, _count[i]);
        Taps = taps;
        if (_paddedFirst.Length < targetLength) _paddedFirst = new int[targetLength];
        if (_paddedWeights.Length < targetLength * taps) _paddedWeights = new int[targetLength * taps];
        _paddedWeights.AsSpan(0, targetLength * taps).Clear();
        for (int i = 0; i < targetLength; i++)
        {
            // A sample weighs at most every source sample, so taps <= sourceLength and the moved first stays >= 0.
            int shift = Math.Max(0, _first[i] + taps - sourceLength);
            _paddedFirst[i] = _first[i] - shift;
            _weights.AsSpan(_offset[i], _count[i]).CopyTo(_paddedWeights.AsSpan((i * taps) + shift));
        }
    }

    private int Bilinear(int index, int sourceLength, int targetLength, int at)
    {
        // Source position = (index + ½) · sourceLength / targetLength − ½, in units of 1/2^Bits.
        long position = ((((2L * index) + 1) * sourceLength) << (Bits - 1)) / targetLength - (One / 2);
        int first = position <= 0 ? 0 : (int)(position >> Bits);
        int weight = position <= 0 ? 0 : (int)(position & (One - 1));
        if (first >= sourceLength - 1)
        {
            first = sourceLength - 1;
            weight = 0;
        }

        _first[index] = first;
        _weights[at] = One - weight;
        if (weight == 0) return 1;
        _weights[at + 1] = weight;
        return 2;
    }

    private int Area(int index, int sourceLength, int targetLength, int at)
    {
        // In units of 1/targetLength of a source sample, the footprint is [index · sourceLength, (index + 1) · sourceLength)
        // and source sample k spans [k · targetLength, (k + 1) · targetLength).
        long start = (long)index * sourceLength, end = start + sourceLength;
        int first = (int)(start / targetLength), last = (int)((end - 1) / targetLength);
        _first[index] = first;
        int total = 0, heaviest = at;
        for (int k = first; k <= last; k++)
        {
            long overlap = Math.Min(end, (long)(k + 1) * targetLength) - Math.Max(start, (long)k * targetLength);
            int weight = (int)(overlap * One / sourceLength);
            _weights[at + k - first] = weight;
            total += weight;
            if (weight > _weights[heaviest]) heaviest = at + k - first;
        }

        _weights[heaviest] += One - total; // rounding remainder, so the weights sum to exactly One
        return last - first + 1;
    }
}
