namespace Broadcast.Packager.Cmaf.Encryption;

/// <summary>
/// The subsamples of one length-prefixed AVC or HEVC sample (ISO/IEC 14496-15 §5.3.2, §8.3.2: NAL units each after a 1, 2
/// or 4-byte length): a coded slice (AVC's NAL unit types 1 and 5, HEVC's VCL types, as <see cref="ISliceHeaders"/> says)
/// is protected after its length, NAL unit header and slice header; every other NAL unit (parameter sets, SEI, delimiters)
/// is wholly clear. For 'cenc' the protected range is cut to a multiple of
/// 16 bytes, its head given to the clear bytes (ISO/IEC 23001-7:2016 recommends block-aligned BytesOfProtectedData for
/// video, CMAF requires it), so no subsample ends in a partial block; 'cbcs' leaves a partial last block clear itself.
/// Clear runs longer than a subsample's 16-bit BytesOfClearData are split (§7.2.2).
/// </summary>
public static class NalSubsamples
{
    private const int Block = 16;

    /// <summary>Appends the sample's subsamples to <paramref name="into"/>; in-band parameter sets update <paramref name="headers"/>.</summary>
    public static void Map(ReadOnlySpan<byte> sample, int nalLengthSize, ISliceHeaders headers, EncryptionScheme scheme, List<Subsample> into)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(into);
        if (nalLengthSize is not (1 or 2 or 4)) throw new ArgumentOutOfRangeException(nameof(nalLengthSize), nalLengthSize, "1, 2 or 4.");
        int first = into.Count;
        long clear = 0;
        int at = 0;
        while (at < sample.Length)
        {
            if (sample.Length - at < nalLengthSize) throw new InvalidDataException("a sample ends inside a NAL unit length");
            uint length = 0;
            for (int i = 0; i < nalLengthSize; i++) length = length << 8 | sample[at + i];
            at += nalLengthSize;
            if (length == 0 || length > (uint)(sample.Length - at)) throw new InvalidDataException("a NAL unit runs past the end of its sample");
            var nal = sample.Slice(at, (int)length);
            at += (int)length;
            long protectedBytes = 0;
            if (headers.IsSlice(nal)) protectedBytes = nal.Length - headers.HeaderLength(nal);
            else headers.Add(nal);
            if (scheme == EncryptionScheme.Cenc) protectedBytes -= protectedBytes % Block;
            if (protectedBytes < Block) protectedBytes = 0; // nothing worth a block: the NAL unit stays clear
            clear += nalLengthSize + nal.Length - protectedBytes;
            if (protectedBytes == 0) continue;
            Emit(into, clear, (uint)protectedBytes);
            clear = 0;
        }
        if (clear > 0 || into.Count == first) Emit(into, clear, 0);
    }

    /// <summary>
    /// A sample protected whole, as one subsample: for 'cenc' its whole blocks with the remainder clear in front, for
    /// 'cbcs' all of it (the cipher leaves a partial last block clear).
    /// </summary>
    public static void Whole(int length, EncryptionScheme scheme, List<Subsample> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        int clear = scheme == EncryptionScheme.Cenc ? length % Block : 0;
        Emit(into, clear, (uint)(length - clear));
    }

    private static void Emit(List<Subsample> into, long clear, uint protectedBytes)
    {
        for (; clear > ushort.MaxValue; clear -= ushort.MaxValue) into.Add(new Subsample(ushort.MaxValue, 0));
        into.Add(new Subsample((ushort)clear, protectedBytes));
    }
}
