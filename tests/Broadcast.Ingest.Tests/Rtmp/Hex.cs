using System.Buffers;

namespace Broadcast.Ingest.Tests.Rtmp;

internal static class Hex
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
