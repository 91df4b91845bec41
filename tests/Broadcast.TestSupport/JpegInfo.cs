namespace Broadcast.TestSupport;

/// <summary>What the tests read of a JPEG.</summary>
public static class JpegInfo
{
    /// <summary>Width and height from the JPEG's first start-of-frame marker (SOF0–SOF3, ITU-T T.81 B.2.2).</summary>
    public static (int Width, int Height) Size(byte[] jpeg)
    {
        ArgumentNullException.ThrowIfNull(jpeg);
        int at = 2;
        while (at + 9 < jpeg.Length)
        {
            if (jpeg[at] != 0xFF) break;
            byte marker = jpeg[at + 1];
            int length = (jpeg[at + 2] << 8) | jpeg[at + 3];
            if (marker is >= 0xC0 and <= 0xC3) return ((jpeg[at + 7] << 8) | jpeg[at + 8], (jpeg[at + 5] << 8) | jpeg[at + 6]);
            at += 2 + length;
        }

        throw new InvalidDataException("no start-of-frame marker in the JPEG");
    }
}
