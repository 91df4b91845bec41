using Broadcast.Ingest.Rtmp;

namespace Broadcast.Ingest.Tests.Fuzzing;

/// <summary>
/// Inputs found while fuzzing for bounded memory: arrays and traits whose counts are not lies on their own (each
/// is at most the bytes left) but nest, so every level allocated for the whole remainder again. Allocation must
/// follow the values actually read, not the counts declared.
/// </summary>
public class AmfAllocationTests
{
    private const int Size = 64 * 1024;

    /// <summary>32 levels of one container each claiming almost every byte left, then the data runs out.</summary>
    private static byte[] Nested(Func<int, byte[]> header)
    {
        var bytes = new List<byte>();
        for (int depth = 0; depth < AmfLimits.MaxDepth; depth++) bytes.AddRange(header(Size - bytes.Count - 16));
        while (bytes.Count < Size) bytes.Add(0x01); // AMF3 null / AMF0 boolean marker: filler
        return bytes.ToArray();
    }

    private static byte[] U29(int value) =>
        value < 0x80 ? [(byte)value]
        : value < 0x4000 ? [(byte)(0x80 | value >> 7), (byte)(value & 0x7F)]
        : value < 0x200000 ? [(byte)(0x80 | value >> 14), (byte)(0x80 | (value >> 7 & 0x7F)), (byte)(value & 0x7F)]
        : [(byte)(0x80 | value >> 22), (byte)(0x80 | (value >> 15 & 0x7F)), (byte)(0x80 | (value >> 8 & 0x7F)), (byte)value];

    public static TheoryData<string, byte[], bool> Cases => new()
    {
        { "AMF0 strict arrays", Nested(n => [0x0A, (byte)(n >> 24), (byte)(n >> 16), (byte)(n >> 8), (byte)n]), false },
        { "AMF3 dense arrays", Nested(n => [0x09, .. U29(n << 1 | 1), 0x01]), true },
        { "AMF3 sealed traits", Nested(n => [0x0A, .. U29(n << 4 | 0x3), 0x01]), true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Nested_counts_allocate_in_proportion_to_the_input(string name, byte[] input, bool amf3)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        bool ok;
        if (amf3)
        {
            var reader = new Amf3Reader(input);
            ok = reader.TryReadValue(out _);
        }
        else ok = Amf0Reader.TryRead(input, out _, out _);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.False(ok, name);
        Assert.True(allocated < 64L * input.Length, $"{name}: {allocated} bytes allocated for {input.Length} bytes of input");
    }
}
