using Broadcast.Media.Codecs;
using Broadcast.Media.Codecs.Aac;
using Broadcast.Media.Codecs.Av1;
using Broadcast.Media.Codecs.Captions;
using Broadcast.Media.Codecs.H264;
using Broadcast.Media.Codecs.Hevc;
using Broadcast.Media.Scte35;
using Broadcast.Media.Tests.Codecs;
using Broadcast.Media.Tests.Scte35;
using Broadcast.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace Broadcast.Media.Tests.Fuzzing;

/// <summary>
/// Fuzzes the codec configuration parsers ingest runs on every sequence header (avcC + SPS, hvcC + SPS, av1C +
/// sequence header OBU, AudioSpecificConfig) with mutations of their case tables. Their failure path is <c>false</c>;
/// nothing may throw. Iterations: BROADCAST_FUZZ_ITERATIONS (default 100000 per parser).
/// </summary>
public class CodecFuzzTests(ITestOutputHelper output)
{
    private void Check(FuzzReport report)
    {
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }

    private static List<byte[]> Records(IEnumerable<object?[]> cases) => FuzzSeeds.Column(cases, 2).ToList();

    [Fact]
    public void Avc_decoder_configuration_and_track()
    {
        var report = FuzzRunner.Run("avcC", Records(AvcTests.Cases), (input, random) =>
            MediaTrackFactory.TryCreateVideo(Codec.H264, input, null, out _, out var error) || Refused(error));
        Check(report);
    }

    [Fact]
    public void H264_sps()
    {
        var seeds = AvcTests.Cases.Select(row => (AvcDecoderConfigurationRecord)row[1]!).SelectMany(r => r.SequenceParameterSets).ToList();
        Check(FuzzRunner.Run("h264 sps", seeds, (input, random) => H264Sps.TryParse(input, out _)));
    }

    [Fact]
    public void Hevc_decoder_configuration_and_track()
    {
        var report = FuzzRunner.Run("hvcC", Records(HevcTests.Cases), (input, random) =>
            MediaTrackFactory.TryCreateVideo(Codec.H265, input, null, out _, out var error) || Refused(error));
        Check(report);
    }

    [Fact]
    public void Hevc_sps()
    {
        var seeds = HevcTests.Cases.Select(row => ((HevcDecoderConfigurationRecord)row[1]!).FindNalUnit(33)).OfType<byte[]>().ToList();
        Check(FuzzRunner.Run("hevc sps", seeds, (input, random) => HevcSps.TryParse(input, out _)));
    }

    [Fact]
    public void Av1_configuration_and_track()
    {
        var report = FuzzRunner.Run("av1C", Records(Av1Tests.Cases), (input, random) =>
            MediaTrackFactory.TryCreateVideo(Codec.Av1, input, null, out _, out var error) || Refused(error));
        Check(report);
    }

    [Fact]
    public void Av1_sequence_header_obus()
    {
        var seeds = Av1Tests.Cases.Select(row => ((Av1CodecConfigurationRecord)row[1]!).ConfigObus).Where(o => o.Length > 0).ToList();
        Check(FuzzRunner.Run("av1 obus", seeds, (input, random) => Av1SequenceHeader.TryFind(input, out _)));
    }

    [Fact]
    public void Audio_specific_config_and_track()
    {
        var report = FuzzRunner.Run("AudioSpecificConfig", Records(AudioSpecificConfigTests.Cases), (input, random) =>
            MediaTrackFactory.TryCreateAudio(Codec.Aac, input, out _, out var error) || Refused(error));
        Check(report);
    }

    [Fact]
    public void Caption_sei_in_access_units()
    {
        // The hub runs this on every video frame until captions show up: whatever a publisher sends, false or true, never a throw.
        Check(FuzzRunner.Run("caption sei", CaptionSeiTests.AccessUnits().ToList(), (input, random) =>
            CaptionSei.TryFind(input, Codec.H264, 4, out _)));
    }

    [Fact]
    public void Scte35_splice_info_section()
    {
        // Seeds: the case table and the refused rows (their CRCs right, so mutations reach past the CRC check only when
        // the mutator keeps it right: most land on CrcMismatch, the rest walk the command and descriptor parsers).
        var seeds = Records(SpliceInfoSectionTests.Cases).Concat(FuzzSeeds.Column(SpliceInfoSectionTests.Malformed, 1)).Where(s => s.Length > 0).ToList();
        var report = FuzzRunner.Run("splice_info_section", seeds, (input, random) =>
        {
            if (!SpliceInfoSection.TryRead(input, out var section, out int consumed, out var error))
                return error != SpliceInfoError.None ? false : throw new InvalidOperationException("refused without a reason");
            // What was read writes back to a section that reads the same (reserved bits and a legacy 0xFFF command length
            // are normalised on the way, nothing else may change).
            return SpliceInfoSection.TryRead(section!.ToArray(), out var again, out _, out _) && again == section && consumed <= input.Length
                ? true
                : throw new InvalidOperationException("read, written and read again differ");
        });
        Check(report);
    }

    /// <summary>A refusal must say why: the reason ends up in the connection's close log line.</summary>
    private static bool Refused(string? error) =>
        string.IsNullOrEmpty(error) ? throw new InvalidOperationException("refused without a reason") : false;
}
