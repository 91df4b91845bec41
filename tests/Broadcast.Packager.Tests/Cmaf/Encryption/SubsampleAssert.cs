using Broadcast.Packager.Cmaf.Encryption;

namespace Broadcast.Packager.Tests.Cmaf.Encryption;

/// <summary>What a video sample's subsample map must hold, for AVC and HEVC alike.</summary>
internal static class SubsampleAssert
{
    /// <summary>
    /// Maps <paramref name="sample"/> (NAL units after 4-byte lengths) through <paramref name="headers"/> and asserts that
    /// its subsamples cover it, that 'cenc' protects whole blocks only and that no protected byte lies in a NAL unit's
    /// length, its NAL unit header or, of a slice, its slice header as <paramref name="check"/> (fed the same NAL units)
    /// measures it, nor anywhere in another NAL unit. Returns the slices longer than 100 bytes, how many of them have
    /// protected bytes, and whether any byte is protected.
    /// </summary>
    public static (int LongSlices, int ProtectedLongSlices, bool AnyProtected) HeadersClear(byte[] sample, ISliceHeaders headers,
        ISliceHeaders check, EncryptionScheme scheme)
    {
        var subsamples = new List<Subsample>();
        NalSubsamples.Map(sample, 4, headers, scheme, subsamples);
        Assert.Equal(sample.Length, subsamples.Sum(s => s.ClearBytes + (long)s.ProtectedBytes));
        if (scheme == EncryptionScheme.Cenc) Assert.All(subsamples, s => Assert.Equal(0u, s.ProtectedBytes % 16));
        var protectedBytes = new bool[sample.Length];
        int at = 0;
        foreach (var s in subsamples)
        {
            at += s.ClearBytes;
            for (int i = 0; i < s.ProtectedBytes; i++) protectedBytes[at + i] = true;
            at += (int)s.ProtectedBytes;
        }
        int longSlices = 0, protectedLongSlices = 0;
        at = 0;
        foreach (var nal in NalUnits.Of(sample))
        {
            bool slice = check.IsSlice(nal);
            if (!slice) check.Add(nal);
            int clearUpTo = 4 + (slice ? check.HeaderLength(nal) : nal.Length);
            Assert.DoesNotContain(true, protectedBytes[at..(at + clearUpTo)]);
            if (slice && nal.Length > 100)
            {
                longSlices++;
                if (protectedBytes[at..(at + 4 + nal.Length)].Contains(true)) protectedLongSlices++;
            }
            at += 4 + nal.Length;
        }
        return (longSlices, protectedLongSlices, protectedBytes.Contains(true));
    }
}
