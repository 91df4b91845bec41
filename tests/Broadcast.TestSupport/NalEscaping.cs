namespace Broadcast.TestSupport;

/// <summary>Emulation prevention for NAL units tests write (ISO/IEC 14496-10 §7.4.1, ITU-T H.265 §7.4.2: the same rule).</summary>
public static class NalEscaping
{
    /// <summary>Appends <paramref name="rbsp"/> to <paramref name="nal"/>, an emulation_prevention_three_byte before any
    /// byte 00..03 that follows two zero bytes.</summary>
    public static void Append(List<byte> nal, ReadOnlySpan<byte> rbsp)
    {
        ArgumentNullException.ThrowIfNull(nal);
        int zeros = 0;
        foreach (byte x in rbsp)
        {
            if (zeros >= 2 && x <= 3)
            {
                nal.Add(3);
                zeros = 0;
            }
            nal.Add(x);
            zeros = x == 0 ? zeros + 1 : 0;
        }
    }
}
