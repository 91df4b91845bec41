namespace Broadcast.Packager.Cmaf.Encryption;

/// <summary>
/// One short-term reference picture set of an SPS as ITU-T H.265 §7.4.8 derives it: the delta POCs of its pictures
/// (DeltaPocS0, the <see cref="NumNegative"/> before the current picture, then DeltaPocS1) and whether each is used by the
/// current picture (UsedByCurrPicS0/S1). A later set, or a slice's own, may be predicted from it (inter RPS prediction).
/// </summary>
internal sealed class ShortTermRefPicSet(int[] deltaPocs, bool[] used, int numNegative)
{
    private readonly int _usedCount = ((ReadOnlySpan<bool>)used).Count(true);

    public ReadOnlySpan<int> DeltaPocs => deltaPocs;

    public int NumNegative { get; } = numNegative;

    public int NumDeltaPocs => deltaPocs.Length;

    /// <summary>Pictures the current picture refers to: its part of NumPicTotalCurr (§7.4.7.2).</summary>
    public int UsedCount => _usedCount;
}

/// <summary>st_ref_pic_set() (ITU-T H.265 §7.3.7) read, and its pictures derived (§7.4.8), for the SPS and for a slice header.</summary>
internal static class HevcReferencePictureSets
{
    /// <summary>
    /// Pictures one set may name. MaxDpbSize is at most 16 (§A.4.2) and sps_max_dec_pic_buffering_minus1 bounds
    /// num_negative_pics and num_positive_pics together; anything more is refused rather than read on.
    /// </summary>
    public const int MaxPictures = 16;

    /// <summary>num_short_term_ref_pic_sets is 0..64 (§7.4.3.2.1).</summary>
    public const int MaxSets = 64;

    private const int MaxDeltaPoc = 1 << 15; // delta_poc_s0_minus1, delta_poc_s1_minus1 and abs_delta_rps_minus1 are 0..2^15 - 1

    /// <summary>
    /// Reads st_ref_pic_set(stRpsIdx) with stRpsIdx = <paramref name="earlier"/>.Length (the SPS's sets before it, or all of
    /// them for a slice's own set, <paramref name="inSliceHeader"/>) into <paramref name="deltaPocs"/> and
    /// <paramref name="used"/> (<see cref="MaxPictures"/> long); returns NumDeltaPocs.
    /// </summary>
    public static int Read(ref RbspBitReader r, ReadOnlySpan<ShortTermRefPicSet> earlier, bool inSliceHeader, scoped Span<int> deltaPocs,
        scoped Span<bool> used, out int numNegative)
    {
        int index = earlier.Length;
        if (index != 0 && r.ReadFlag()) // inter_ref_pic_set_prediction_flag
            return Predict(ref r, earlier, inSliceHeader, deltaPocs, used, out numNegative);
        numNegative = r.ReadUe(MaxPictures, "num_negative_pics");
        int numPositive = r.ReadUe(MaxPictures - numNegative, "num_positive_pics");
        int poc = 0;
        for (int i = 0; i < numNegative; i++)
        {
            poc -= r.ReadUe(MaxDeltaPoc - 1, "delta_poc_s0_minus1") + 1;
            deltaPocs[i] = poc;
            used[i] = r.ReadFlag(); // used_by_curr_pic_s0_flag
        }
        poc = 0;
        for (int i = numNegative; i < numNegative + numPositive; i++)
        {
            poc += r.ReadUe(MaxDeltaPoc - 1, "delta_poc_s1_minus1") + 1;
            deltaPocs[i] = poc;
            used[i] = r.ReadFlag(); // used_by_curr_pic_s1_flag
        }
        return numNegative + numPositive;
    }

    /// <summary>A set predicted from an earlier one, RefRpsIdx, moved by deltaRps (§7.4.8, equations 7-61 and 7-62).</summary>
    private static int Predict(ref RbspBitReader r, ReadOnlySpan<ShortTermRefPicSet> earlier, bool inSliceHeader, scoped Span<int> deltaPocs,
        scoped Span<bool> used, out int numNegative)
    {
        int index = earlier.Length;
        // delta_idx_minus1 is only sent for a slice header's own set; in the SPS a set is predicted from the one before it.
        int deltaIdx = inSliceHeader ? r.ReadUe(index - 1, "delta_idx_minus1") + 1 : 1;
        var reference = earlier[index - deltaIdx];
        bool negative = r.ReadFlag(); // delta_rps_sign
        int deltaRps = (r.ReadUe(MaxDeltaPoc - 1, "abs_delta_rps_minus1") + 1) * (negative ? -1 : 1);
        int n = reference.NumDeltaPocs;
        // used_by_curr_pic_flag[j] and use_delta_flag[j] for each of the reference's pictures and, at j = n, deltaRps itself.
        Span<bool> usedByCurr = stackalloc bool[MaxPictures + 1];
        Span<bool> useDelta = stackalloc bool[MaxPictures + 1];
        for (int j = 0; j <= n; j++)
        {
            usedByCurr[j] = r.ReadFlag();
            useDelta[j] = usedByCurr[j] || r.ReadFlag(); // use_delta_flag, 1 when absent
        }
        var refPocs = reference.DeltaPocs;
        int refNegative = reference.NumNegative, refPositive = n - refNegative;
        var derived = new Derived(deltaPocs, used, usedByCurr, useDelta);
        // S0: the reference's positive pictures from the last, deltaRps, then its negative ones, each kept when before the current picture.
        for (int j = refPositive - 1; j >= 0; j--) derived.Take(refPocs[refNegative + j] + deltaRps, refNegative + j, before: true);
        derived.Take(deltaRps, n, before: true);
        for (int j = 0; j < refNegative; j++) derived.Take(refPocs[j] + deltaRps, j, before: true);
        numNegative = derived.Count;
        // S1: the mirror image, each kept when after the current picture.
        for (int j = refNegative - 1; j >= 0; j--) derived.Take(refPocs[j] + deltaRps, j, before: false);
        derived.Take(deltaRps, n, before: false);
        for (int j = 0; j < refPositive; j++) derived.Take(refPocs[refNegative + j] + deltaRps, refNegative + j, before: false);
        return derived.Count;
    }

    /// <summary>The pictures of a predicted set as they are derived: picture j of the prediction's flags is kept when it
    /// is used (use_delta_flag) and lies on the side of the current picture being filled (a delta POC of 0 never does).</summary>
    private ref struct Derived(Span<int> deltaPocs, Span<bool> used, ReadOnlySpan<bool> usedByCurr, ReadOnlySpan<bool> useDelta)
    {
        private readonly Span<int> _deltaPocs = deltaPocs;
        private readonly Span<bool> _used = used;
        private readonly ReadOnlySpan<bool> _usedByCurr = usedByCurr;
        private readonly ReadOnlySpan<bool> _useDelta = useDelta;

        public int Count { get; private set; }

        public void Take(int poc, int j, bool before)
        {
            if ((before ? poc >= 0 : poc <= 0) || !_useDelta[j]) return;
            if (Count == MaxPictures) throw new InvalidDataException($"a predicted reference picture set names more than {MaxPictures} pictures");
            _deltaPocs[Count] = poc;
            _used[Count++] = _usedByCurr[j];
        }
    }
}
