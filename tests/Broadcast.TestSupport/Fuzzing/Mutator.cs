using System.Buffers.Binary;

namespace Broadcast.TestSupport.Fuzzing;

/// <summary>
/// Byte-level mutations of a seed, the kinds that find parser bugs: bit flips, bytes set to boundary values,
/// 16/24/32-bit length fields (either byte order) set to boundary values, inserted, deleted and duplicated ranges,
/// truncation, and splicing with another seed. One call stacks one to <see cref="MaxStack"/> mutations.
/// </summary>
public sealed class Mutator
{
    private static readonly byte[] InterestingBytes = [0x00, 0x01, 0x03, 0x7F, 0x80, 0xFE, 0xFF];

    private static readonly uint[] InterestingLengths =
    [
        0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFF, 0x800000, 0xFFFFFF, 0xFFFFFE,
        0x1000000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
    ];

    public Mutator(int maxLength = 64 * 1024, int maxStack = 6)
    {
        MaxLength = maxLength;
        MaxStack = maxStack;
    }

    /// <summary>Inputs never grow beyond this many bytes.</summary>
    public int MaxLength { get; }

    public int MaxStack { get; }

    /// <summary>Returns a mutated copy of <paramref name="seed"/>; <paramref name="seeds"/> supplies splice partners.</summary>
    public byte[] Mutate(ReadOnlySpan<byte> seed, IReadOnlyList<byte[]> seeds, FuzzRandom random)
    {
        var data = new List<byte>(seed.Length + 16);
        foreach (byte b in seed) data.Add(b);
        int count = 1 + random.Next(MaxStack);
        for (int i = 0; i < count; i++) MutateOnce(data, seeds, random);
        if (data.Count > MaxLength) data.RemoveRange(MaxLength, data.Count - MaxLength);
        return data.ToArray();
    }

    private static void MutateOnce(List<byte> data, IReadOnlyList<byte[]> seeds, FuzzRandom random)
    {
        switch (random.Next(11))
        {
            case 0 when data.Count > 0: // flip one bit
            {
                int i = random.Next(data.Count);
                data[i] ^= (byte)(1 << random.Next(8));
                return;
            }
            case 1 when data.Count > 0: // a boundary byte value
                data[random.Next(data.Count)] = random.Pick(InterestingBytes);
                return;
            case 2 when data.Count > 0: // a random byte
                data[random.Next(data.Count)] = random.NextByte();
                return;
            case 3 when data.Count >= 2: // a length field set to a boundary value
            {
                int width = random.Pick(new[] { 2, 3, 4 });
                if (data.Count < width) width = data.Count;
                uint value = random.Chance(4) ? (uint)Math.Max(0, data.Count + random.Between(-2, 2)) : random.Pick(InterestingLengths);
                Span<byte> field = stackalloc byte[4];
                BinaryPrimitives.WriteUInt32BigEndian(field, value);
                var bytes = field[(4 - width)..];
                if (random.Chance(3)) bytes.Reverse(); // little-endian (RTMP message stream ids, some boxes)
                int at = random.Next(data.Count - width + 1);
                for (int k = 0; k < width; k++) data[at + k] = bytes[k];
                return;
            }
            case 4: // insert random bytes
            {
                int at = random.Next(data.Count + 1);
                var bytes = new byte[random.Between(1, random.Chance(8) ? 256 : 8)];
                random.Fill(bytes);
                data.InsertRange(at, bytes);
                return;
            }
            case 5 when data.Count > 0: // delete a range
            {
                int at = random.Next(data.Count);
                data.RemoveRange(at, random.Between(1, Math.Min(data.Count - at, 16)));
                return;
            }
            case 6 when data.Count > 0: // duplicate a range in place
            {
                int at = random.Next(data.Count);
                int length = random.Between(1, Math.Min(data.Count - at, 64));
                int times = random.Between(1, 4);
                var range = data.GetRange(at, length);
                for (int k = 0; k < times; k++) data.InsertRange(at, range);
                return;
            }
            case 7 when data.Count > 0: // truncate
            {
                int cut = random.Next(data.Count);
                data.RemoveRange(cut, data.Count - cut);
                return;
            }
            case 8 when seeds.Count > 0: // splice: our head, another seed's tail
            {
                var other = random.Pick(seeds);
                int cut = random.Next(data.Count + 1);
                int from = other.Length == 0 ? 0 : random.Next(other.Length);
                data.RemoveRange(cut, data.Count - cut);
                data.AddRange(other.AsSpan(from).ToArray());
                return;
            }
            case 9 when data.Count > 0: // copy a range over another place
            {
                int from = random.Next(data.Count);
                int to = random.Next(data.Count);
                int length = Math.Min(random.Between(1, 32), Math.Min(data.Count - from, data.Count - to));
                var range = data.GetRange(from, length);
                for (int k = 0; k < length; k++) data[to + k] = range[k];
                return;
            }
            default: // an arithmetic nudge of one byte
                if (data.Count > 0)
                {
                    int i = random.Next(data.Count);
                    data[i] = (byte)(data[i] + random.Between(-16, 16));
                }
                else data.Add(random.NextByte());
                return;
        }
    }
}
