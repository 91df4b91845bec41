using Broadcast.Media.MpegTs;
using Broadcast.TestSupport;

namespace Broadcast.Media.Tests.MpegTs;

/// <summary>
/// ISO_639_language_descriptor (ISO/IEC 13818-1 2.6.18) read from a PMT stream's descriptor loop: the first language
/// and its audio_type; a malformed body or a code that is not three letters reads as no language, never as a wrong one.
/// </summary>
[Trait("Kind", "Component")]
public sealed class Iso639LanguageDescriptorTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Descriptor loop (hex) → the language read, or null.</summary>
    public static TheoryData<string, string, string?> Loops => new()
    {
        { "english, undefined", "0A04656E6700", "eng" },
        { "upper case is lowered", "0A0446524100", "fra" },
        { "audio description", "0A04737061" + "03", "spa, audio description" },
        { "hearing impaired", "0A04646575" + "02", "deu, hearing impaired" },
        { "clean effects", "0A04697461" + "01", "ita, clean effects" },
        { "reserved audio type", "0A04706F72" + "80", "por, audio type 0x80" },
        { "two languages: the first", "0A08656E6700667261" + "00", "eng" },
        { "after another descriptor", "05044F707573" + "0A046E6C6400", "nld" },
        { "no descriptor", "", null },
        { "other descriptors only", "050441432D33", null },
        { "body too short", "0A03656E67", null },
        { "body not a multiple of four", "0A05656E670000", null },
        { "digits are not a language", "0A0431323300", null },
        { "a space is not a letter", "0A04656E2000", null },
        { "non-ASCII letters are not a code", "0A04E9E9E900", null },
        { "length past the loop", "0A08656E6700", null },
        { "truncated header", "0A", null },
    };

    [Theory]
    [MemberData(nameof(Loops))]
    public void Reads_the_first_language_or_none(string name, string loopHex, string? expected)
    {
        var stream = new PmtStream(TsStreamType.AacAdts, 0x101, Convert.FromHexString(loopHex));
        Assert.True(expected == Iso639LanguageDescriptor.Find(stream)?.ToString(), name);
    }

    [Fact]
    public void A_stream_is_described_with_its_language_and_audio_type_when_it_has_them()
    {
        var stream = new PmtStream(TsStreamType.AacAdts, 0x101, Convert.FromHexString("0A0466726103"));
        Assert.Equal(new Iso639LanguageDescriptor("fra", TsAudioType.VisualImpairedCommentary), Iso639LanguageDescriptor.Find(stream));
        Assert.Equal("0x0F on PID 257 (fra, audio description)", stream.Describe());
        Assert.Equal("0x0F on PID 257", new PmtStream(TsStreamType.AacAdts, 0x101, []).Describe());
    }

    /// <summary>
    /// What an encoder with two languages sends (ffmpeg writes each audio stream's language into its PMT entry): the
    /// demuxer takes the first AAC stream and names the other with its language, as the SRT log reports them.
    /// </summary>
    [Fact]
    public void The_demuxer_names_the_language_of_the_audio_it_takes_and_of_the_one_it_leaves()
    {
        string path = _dir.Combine("two-languages.ts");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-f", "lavfi", "-i", "sine=frequency=660:sample_rate=48000",
            "-t", "1", "-map", "0:v", "-map", "1:a", "-map", "2:a", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "32k",
            "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra", "-f", "mpegts", path);
        var stream = new LiveStream("two-languages", TimeProvider.System);
        using var demuxer = new MpegTsDemuxer(stream);
        Assert.True(demuxer.TryWrite(File.ReadAllBytes(path), out string? error), error);
        Assert.Equal("eng", Iso639LanguageDescriptor.Find(demuxer.AudioStream!)?.Language);
        var other = Assert.Single(demuxer.IgnoredStreams);
        Assert.Equal(TsStreamType.AacAdts, other.StreamType);
        Assert.Equal("fra", Iso639LanguageDescriptor.Find(other)?.Language);
        Assert.EndsWith("(fra)", other.Describe(), StringComparison.Ordinal);
        Assert.True(stream.Statistics.AudioFrames > 0);
    }
}
