using System.Buffers;
using Broadcast.Media.Bits;

namespace Broadcast.Media.Codecs.Aac;

/// <summary>
/// MPEG-4 AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1) for the AAC family, as carried in the FLV AAC sequence
/// header and in the MP4 'esds' DecoderSpecificInfo.
/// <code>
/// audioObjectType(5) [== 31: audioObjectTypeExt(6), AOT = 32 + ext]
/// samplingFrequencyIndex(4) [== 0xF: samplingFrequency(24)]
/// channelConfiguration(4)
/// if AOT == 5 (SBR) or 29 (PS):   explicit hierarchical signalling
///   extensionSamplingFrequencyIndex(4) [== 0xF: extensionSamplingFrequency(24)]
///   audioObjectType(5...)          the core codec, usually 2 (AAC LC)
/// GASpecificConfig: frameLengthFlag(1) dependsOnCoreCoder(1) [coreCoderDelay(14)] extensionFlag(1)
/// optional backward-compatible signalling: syncExtensionType(11)=0x2B7 extensionAOT(5)=5 sbrPresentFlag(1)
///   [extensionSamplingFrequencyIndex(4)...] [syncExtensionType(11)=0x548 psPresentFlag(1)]
/// </code>
/// The core sampling rate (the one frames are timed by, 1024 samples each) is <see cref="SamplingFrequency"/>.
/// </summary>
public sealed record AudioSpecificConfig
{
    private static readonly int[] SamplingFrequencies =
        [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

    /// <summary>The object type written first: 2 for AAC-LC, 5/29 when HE-AAC is signalled explicitly.</summary>
    public int ObjectType { get; init; }

    /// <summary>The core coder's object type (equal to <see cref="ObjectType"/> unless it is 5 or 29).</summary>
    public int CoreObjectType { get; init; }

    /// <summary>4-bit index, or 15 when <see cref="SamplingFrequency"/> is written explicitly.</summary>
    public int SamplingFrequencyIndex { get; init; }

    public int SamplingFrequency { get; init; }

    public int ChannelConfiguration { get; init; }

    /// <summary>True when SBR is signalled (explicitly by AOT 5/29 or by the 0x2B7 sync extension).</summary>
    public bool SbrPresent { get; init; }

    public bool PsPresent { get; init; }

    /// <summary>The SBR output rate (index or explicit) when SBR is signalled; 0 otherwise.</summary>
    public int ExtensionSamplingFrequency { get; init; }

    public int ExtensionSamplingFrequencyIndex { get; init; }

    /// <summary>frameLengthFlag: 960-sample frames instead of 1024.</summary>
    public bool FrameLength960 { get; init; }

    public bool DependsOnCoreCoder { get; init; }

    public int CoreCoderDelay { get; init; }

    public bool ExtensionFlag { get; init; }

    /// <summary>True when SBR/PS came through the backward-compatible sync extension rather than AOT 5/29.</summary>
    public bool SbrSignalledBySyncExtension { get; init; }

    public int SamplesPerFrame => FrameLength960 ? 960 : 1024;

    /// <summary>Output channels of channelConfiguration (Table 1.19); 0 means a program_config_element decides.</summary>
    public int Channels => ChannelConfiguration switch
    {
        >= 1 and <= 6 => ChannelConfiguration,
        7 => 8,
        11 => 7,
        12 => 8,
        13 => 24,
        14 => 8,
        _ => 0,
    };

    /// <summary>RFC 6381 / RFC 6416 codecs parameter: mp4a.40.{object type}, e.g. mp4a.40.2.</summary>
    public string CodecString => $"mp4a.40.{ObjectType}";

    /// <summary>True when the core coder is one of the General Audio (AAC family) object types we can carry.</summary>
    public bool IsAacFamily => IsGeneralAudio(CoreObjectType);

    /// <summary>General Audio object types whose specific config is GASpecificConfig (1.6.2.1, Table 1.15).</summary>
    private static bool IsGeneralAudio(int aot) => aot is 1 or 2 or 3 or 4 or 6 or 7 or 17 or 19 or 20 or 21 or 22 or 23;

    public static bool TryRead(ReadOnlySpan<byte> data, out AudioSpecificConfig config, out int consumed)
    {
        config = null!;
        consumed = 0;
        if (data.Length < 2) return false;
        var r = new BitReader(data);
        int aot = ReadObjectType(ref r);
        if (!TryReadFrequency(ref r, out int freqIndex, out int frequency)) return false;
        int channelConfig = (int)r.ReadBits(4);
        int coreAot = aot;
        bool sbr = false, ps = false, bySync = false;
        int extIndex = 0, extFrequency = 0;
        if (aot is 5 or 29)
        {
            sbr = true;
            ps = aot == 29;
            if (!TryReadFrequency(ref r, out extIndex, out extFrequency)) return false;
            coreAot = ReadObjectType(ref r);
        }
        if (r.Overrun) return false;
        if (!IsGeneralAudio(coreAot))
        {
            // Not the AAC family (e.g. USAC, ALS): the header fields describe it; the factory decides what it carries.
            config = new AudioSpecificConfig
            {
                ObjectType = aot, CoreObjectType = coreAot, SamplingFrequencyIndex = freqIndex, SamplingFrequency = frequency,
                ChannelConfiguration = channelConfig, SbrPresent = sbr, PsPresent = ps,
                ExtensionSamplingFrequencyIndex = extIndex, ExtensionSamplingFrequency = extFrequency,
            };
            consumed = (int)((r.Position + 7) / 8);
            return true;
        }
        if (channelConfig is 0 or (> 7 and < 11) or > 14) return false; // program_config_element / reserved: not handled
        bool frame960 = r.ReadFlag();
        bool dependsOnCore = r.ReadFlag();
        int coreDelay = dependsOnCore ? (int)r.ReadBits(14) : 0;
        bool extensionFlag = r.ReadFlag();
        if (coreAot is 6 or 20) r.SkipBits(3); // layerNr
        if (extensionFlag)
        {
            if (coreAot == 22) r.SkipBits(16); // numOfSubFrame, layer_length
            if (coreAot is 17 or 19 or 20 or 23) r.SkipBits(3); // resilience flags
            r.SkipBits(1); // extensionFlag3
        }
        if (r.Overrun) return false;

        // Backward-compatible signalling: the extension tail is only honoured when it is well formed; a stray
        // tail (some encoders pad with junk) is tolerated and ignored, as decoders do.
        if (!sbr && r.RemainingBits >= 16)
        {
            var probe = r;
            if (probe.ReadBits(11) == 0x2B7 && probe.ReadBits(5) == 5)
            {
                sbr = probe.ReadFlag();
                if (sbr && TryReadFrequency(ref probe, out extIndex, out extFrequency))
                {
                    if (probe.RemainingBits >= 12 && probe.ReadBits(11) == 0x548) ps = probe.ReadFlag();
                }
                if (!probe.Overrun)
                {
                    bySync = true;
                    r = probe;
                }
                else
                {
                    sbr = false;
                    ps = false;
                    extIndex = extFrequency = 0;
                }
            }
        }

        config = new AudioSpecificConfig
        {
            ObjectType = aot,
            CoreObjectType = coreAot,
            SamplingFrequencyIndex = freqIndex,
            SamplingFrequency = frequency,
            ChannelConfiguration = channelConfig,
            SbrPresent = sbr,
            PsPresent = ps,
            ExtensionSamplingFrequencyIndex = extIndex,
            ExtensionSamplingFrequency = extFrequency,
            FrameLength960 = frame960,
            DependsOnCoreCoder = dependsOnCore,
            CoreCoderDelay = coreDelay,
            ExtensionFlag = extensionFlag,
            SbrSignalledBySyncExtension = bySync,
        };
        consumed = (int)((r.Position + 7) / 8);
        return true;
    }

    private static int ReadObjectType(ref BitReader r)
    {
        int aot = (int)r.ReadBits(5);
        return aot == 31 ? 32 + (int)r.ReadBits(6) : aot;
    }

    private static bool TryReadFrequency(ref BitReader r, out int index, out int frequency)
    {
        index = (int)r.ReadBits(4);
        if (index == 0xF) frequency = (int)r.ReadBits(24);
        else if (index < SamplingFrequencies.Length) frequency = SamplingFrequencies[index];
        else frequency = 0;
        return !r.Overrun && frequency > 0;
    }

    /// <summary>Writes the config (GA object types only; extensionFlag tails other than AAC-LC's are not written).</summary>
    public void Write(IBufferWriter<byte> writer)
    {
        Span<byte> buffer = stackalloc byte[16];
        var w = new BitWriter(buffer);
        WriteObjectType(ref w, ObjectType);
        WriteFrequency(ref w, SamplingFrequencyIndex, SamplingFrequency);
        w.WriteBits((uint)ChannelConfiguration, 4);
        if (ObjectType is 5 or 29)
        {
            WriteFrequency(ref w, ExtensionSamplingFrequencyIndex, ExtensionSamplingFrequency);
            WriteObjectType(ref w, CoreObjectType);
        }
        if (IsAacFamily)
        {
            w.WriteFlag(FrameLength960);
            w.WriteFlag(DependsOnCoreCoder);
            if (DependsOnCoreCoder) w.WriteBits((uint)CoreCoderDelay, 14);
            w.WriteFlag(ExtensionFlag);
        }
        if (SbrSignalledBySyncExtension)
        {
            w.WriteBits(0x2B7, 11);
            w.WriteBits(5, 5);
            w.WriteFlag(SbrPresent);
            if (SbrPresent)
            {
                WriteFrequency(ref w, ExtensionSamplingFrequencyIndex, ExtensionSamplingFrequency);
                if (PsPresent)
                {
                    w.WriteBits(0x548, 11);
                    w.WriteFlag(true);
                }
            }
        }
        writer.Write(buffer[..w.BytesWritten]);
    }

    public byte[] ToArray()
    {
        var buffer = new ArrayBufferWriter<byte>();
        Write(buffer);
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteObjectType(ref BitWriter w, int aot)
    {
        if (aot >= 31)
        {
            w.WriteBits(31, 5);
            w.WriteBits((uint)(aot - 32), 6);
        }
        else w.WriteBits((uint)aot, 5);
    }

    private static void WriteFrequency(ref BitWriter w, int index, int frequency)
    {
        w.WriteBits((uint)index, 4);
        if (index == 0xF) w.WriteBits((uint)frequency, 24);
    }
}
