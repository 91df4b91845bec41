namespace Broadcast.Packager.Cmaf.Encryption;

/// <summary>
/// What <see cref="NalSubsamples"/> asks of a codec's NAL units (AVC: <see cref="AvcSliceHeaders"/>, HEVC:
/// <see cref="HevcSliceHeaders"/>): which are coded slices, whose data after the slice header is protected, and how long
/// that header is; every other NAL unit stays wholly clear and may carry parameter sets the headers depend on. Damaged
/// input is an <see cref="InvalidDataException"/>.
/// </summary>
public interface ISliceHeaders
{
    /// <summary>Whether <paramref name="nal"/> (not empty) is a coded slice (segment) NAL unit.</summary>
    bool IsSlice(ReadOnlySpan<byte> nal);

    /// <summary>
    /// Stored bytes of a coded slice NAL unit taken by its NAL unit header and its slice (segment) header, emulation
    /// prevention bytes counted; a last partly used byte counts whole.
    /// </summary>
    int HeaderLength(ReadOnlySpan<byte> nal);

    /// <summary>Takes a NAL unit that is not a slice: a parameter set is kept for the slices after it, others are ignored.</summary>
    void Add(ReadOnlySpan<byte> nal);
}
