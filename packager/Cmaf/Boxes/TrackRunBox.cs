using System.Buffers;

namespace Broadcast.Packager.Cmaf.Boxes;

/// <summary>
/// trun (ISO/IEC 14496-12 §8.8.8) over a span of samples, written without allocating.
/// Video: data-offset | sample-duration | sample-size | sample-flags | sample-composition-time-offset
/// (0x000F01), version 1 so composition offsets are signed (B-frames after an edit may need negative ones).
/// Audio: data-offset | sample-duration | sample-size (0x000301), version 0; sync flags come from tfhd's default.
/// data_offset is from the start of the moof (tfhd default-base-is-moof) to the first sample in mdat.
/// </summary>
public readonly ref struct TrackRunBox
{
    public const uint DataOffsetPresent = 0x000001;
    public const uint SampleDurationPresent = 0x000100;
    public const uint SampleSizePresent = 0x000200;
    public const uint SampleFlagsPresent = 0x000400;
    public const uint SampleCompositionTimeOffsetPresent = 0x000800;

    private const int HeaderSize = 20; // box header, version/flags, sample_count, data_offset

    private readonly ReadOnlySpan<CmafSample> _samples;

    public TrackRunBox(ReadOnlySpan<CmafSample> samples, int dataOffset, bool perSampleFlagsAndOffsets)
    {
        _samples = samples;
        DataOffset = dataOffset;
        PerSampleFlagsAndOffsets = perSampleFlagsAndOffsets;
    }

    public int DataOffset { get; }

    public bool PerSampleFlagsAndOffsets { get; }

    public uint Flags => DataOffsetPresent | SampleDurationPresent | SampleSizePresent |
        (PerSampleFlagsAndOffsets ? SampleFlagsPresent | SampleCompositionTimeOffsetPresent : 0);

    public byte Version => PerSampleFlagsAndOffsets ? (byte)1 : (byte)0;

    public int Size => SizeFor(_samples.Length, PerSampleFlagsAndOffsets);

    /// <summary>The box size for <paramref name="sampleCount"/> samples, known before the data offset is.</summary>
    public static int SizeFor(int sampleCount, bool perSampleFlagsAndOffsets) =>
        checked(HeaderSize + sampleCount * (perSampleFlagsAndOffsets ? 16 : 8));

    public void WriteTo(ref BoxSpanWriter writer)
    {
        writer.WriteFullBoxHeader(Size, FourCC.Trun, Version, Flags);
        writer.WriteUInt32((uint)_samples.Length);
        writer.WriteInt32(DataOffset);
        foreach (ref readonly var sample in _samples)
        {
            writer.WriteUInt32(sample.Duration);
            writer.WriteUInt32((uint)sample.Data.Length);
            if (PerSampleFlagsAndOffsets)
            {
                writer.WriteUInt32(SampleFlags.For(sample.IsSync));
                writer.WriteInt32(sample.CompositionOffset);
            }
        }
    }

    public void Write(IBufferWriter<byte> output)
    {
        var writer = new BoxSpanWriter(output.GetSpan(Size));
        WriteTo(ref writer);
        output.Advance(writer.Position);
    }
}
