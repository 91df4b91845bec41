using Broadcast.Media.Codecs.Aac;

namespace Broadcast.Media.Tests.Codecs;

public class AudioSpecificConfigTests
{
    private static AudioSpecificConfig Lc(int index, int rate, int channels) => new()
    {
        ObjectType = 2, CoreObjectType = 2, SamplingFrequencyIndex = index, SamplingFrequency = rate, ChannelConfiguration = channels,
    };

    // (name, decoded, bytes) per ISO/IEC 14496-3 1.6.2.1.
    public static TheoryData<string, AudioSpecificConfig, byte[]> Cases => new()
    {
        { "AAC-LC 48 kHz stereo", Lc(3, 48000, 2), [0x11, 0x90] },
        { "AAC-LC 44.1 kHz mono", Lc(4, 44100, 1), [0x12, 0x08] },
        { "AAC-LC 960-sample frames", Lc(3, 48000, 2) with { FrameLength960 = true }, [0x11, 0x94] },
        { "explicit 24-bit sampling frequency", Lc(15, 48000, 1), [0x17, 0x80, 0x5D, 0xC0, 0x08] },
        {
            "HE-AAC explicit (AOT 5) 22.05 kHz core, 44.1 kHz SBR",
            new AudioSpecificConfig
            {
                ObjectType = 5, CoreObjectType = 2, SamplingFrequencyIndex = 7, SamplingFrequency = 22050, ChannelConfiguration = 2,
                SbrPresent = true, ExtensionSamplingFrequencyIndex = 4, ExtensionSamplingFrequency = 44100,
            },
            [0x2B, 0x92, 0x08, 0x00]
        },
        {
            "HE-AACv2 explicit (AOT 29) 24 kHz core mono",
            new AudioSpecificConfig
            {
                ObjectType = 29, CoreObjectType = 2, SamplingFrequencyIndex = 6, SamplingFrequency = 24000, ChannelConfiguration = 1,
                SbrPresent = true, PsPresent = true, ExtensionSamplingFrequencyIndex = 3, ExtensionSamplingFrequency = 48000,
            },
            [0xEB, 0x09, 0x88, 0x00]
        },
        {
            "backward-compatible SBR (sync extension 0x2B7)",
            Lc(6, 24000, 2) with { SbrPresent = true, ExtensionSamplingFrequencyIndex = 3, ExtensionSamplingFrequency = 48000, SbrSignalledBySyncExtension = true },
            [0x13, 0x10, 0x56, 0xE5, 0x98]
        },
        {
            "backward-compatible SBR and PS (0x2B7 then 0x548)",
            Lc(6, 24000, 1) with
            {
                SbrPresent = true, PsPresent = true, ExtensionSamplingFrequencyIndex = 3, ExtensionSamplingFrequency = 48000,
                SbrSignalledBySyncExtension = true,
            },
            [0x13, 0x08, 0x56, 0xE5, 0x9D, 0x48, 0x80]
        },
        {
            "escaped object type 42 (USAC): header only",
            new AudioSpecificConfig { ObjectType = 42, CoreObjectType = 42, SamplingFrequencyIndex = 3, SamplingFrequency = 48000, ChannelConfiguration = 2 },
            [0xF9, 0x46, 0x40]
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reads(string name, AudioSpecificConfig decoded, byte[] bytes)
    {
        Assert.True(AudioSpecificConfig.TryRead(bytes, out var config, out int consumed), name);
        Assert.Equal(decoded, config);
        Assert.Equal(bytes.Length, consumed);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Writes(string name, AudioSpecificConfig decoded, byte[] bytes)
    {
        Assert.Equal(bytes, decoded.ToArray());
        Assert.NotNull(name);
    }

    [Theory]
    [InlineData("AAC-LC", new byte[] { 0x11, 0x90 }, "mp4a.40.2", 48000, 2, 1024)]
    [InlineData("HE-AAC", new byte[] { 0x2B, 0x92, 0x08, 0x00 }, "mp4a.40.5", 22050, 2, 1024)]
    [InlineData("HE-AACv2", new byte[] { 0xEB, 0x09, 0x88, 0x00 }, "mp4a.40.29", 24000, 1, 1024)]
    [InlineData("960", new byte[] { 0x11, 0x94 }, "mp4a.40.2", 48000, 2, 960)]
    [InlineData("7.1 (config 7)", new byte[] { 0x11, 0xB8 }, "mp4a.40.2", 48000, 8, 1024)]
    public void Describes_the_stream(string name, byte[] bytes, string codec, int rate, int channels, int samples)
    {
        Assert.True(AudioSpecificConfig.TryRead(bytes, out var c, out _), name);
        Assert.Equal(codec, c.CodecString);
        Assert.Equal(rate, c.SamplingFrequency);
        Assert.Equal(channels, c.Channels);
        Assert.Equal(samples, c.SamplesPerFrame);
    }

    [Theory]
    [InlineData("empty", new byte[0])]
    [InlineData("one byte", new byte[] { 0x11 })]
    [InlineData("reserved frequency index 13", new byte[] { 0x16, 0x90 })]
    [InlineData("explicit frequency cut off", new byte[] { 0x17, 0x80 })]
    [InlineData("explicit frequency of zero", new byte[] { 0x17, 0x80, 0x00, 0x00, 0x08 })]
    [InlineData("channel configuration 0 (PCE) not handled", new byte[] { 0x11, 0x80 })]
    [InlineData("reserved channel configuration 9", new byte[] { 0x11, 0xC8 })]
    [InlineData("explicit SBR cut off", new byte[] { 0x2B, 0x92 })]
    [InlineData("escape object type cut off", new byte[] { 0xF8 })]
    public void Rejects_malformed(string name, byte[] bytes)
    {
        Assert.False(AudioSpecificConfig.TryRead(bytes, out _, out _), name);
    }

    [Fact]
    public void Tolerates_a_junk_tail_after_GASpecificConfig()
    {
        // Some encoders pad the config; a tail that is not a sync extension is ignored as decoders do.
        Assert.True(AudioSpecificConfig.TryRead([0x11, 0x90, 0xAB, 0xCD], out var c, out _));
        Assert.Equal(Lc(3, 48000, 2), c);
    }
}
