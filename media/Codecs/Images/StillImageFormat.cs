namespace Broadcast.Media.Codecs.Images;

/// <summary>The encodings a still image input may have: the only two an image is ever decoded as.</summary>
public enum StillImageFormat
{
    Png,
    Jpeg,
}

/// <summary>
/// Which still image encoding bytes are, from their signature alone. An image input's bytes are the caller's: left to
/// a decoder's format probing, anything it can open (an HLS playlist, a concat list) would be read as the image and could make it
/// open other files or the network. Only a PNG or JPEG signature lets bytes become an image, and the decode is then
/// forced to that format.
/// </summary>
public static class StillImageSignature
{
    /// <summary>PNG's 8-byte signature (PNG specification, section 5.2).</summary>
    private static ReadOnlySpan<byte> Png => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>JPEG's start-of-image marker followed by the first byte of the next marker (ITU T.81, B.1.1.3).</summary>
    private static ReadOnlySpan<byte> Jpeg => [0xFF, 0xD8, 0xFF];

    /// <summary>The longest signature: how many leading bytes <see cref="TryDetect"/> needs to see.</summary>
    public const int Length = 8;

    /// <summary>The format <paramref name="bytes"/> start with; false for anything else, a signature cut short included.</summary>
    public static bool TryDetect(ReadOnlySpan<byte> bytes, out StillImageFormat format)
    {
        if (bytes.StartsWith(Png)) { format = StillImageFormat.Png; return true; }
        if (bytes.StartsWith(Jpeg)) { format = StillImageFormat.Jpeg; return true; }
        format = default;
        return false;
    }
}
