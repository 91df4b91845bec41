using System.Buffers;

namespace Broadcast.TestSupport;

/// <summary>Bytes of case tables written as hex, and what a writer wrote.</summary>
public static class Hex
{
    /// <summary>"02 00 03 61" → bytes; spaces ignored, so case tables can group fields.</summary>
    public static byte[] Bytes(string hex) => Convert.FromHexString(hex.Replace(" ", string.Empty));

    public static byte[] Written(Action<IBufferWriter<byte>> write)
    {
        var writer = new ArrayBufferWriter<byte>();
        write(writer);
        return writer.WrittenSpan.ToArray();
    }
}
