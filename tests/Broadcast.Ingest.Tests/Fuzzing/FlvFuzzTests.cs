using Broadcast.Ingest.Flv;
using Broadcast.Ingest.Tests.Flv;
using Broadcast.Media;
using Broadcast.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace Broadcast.Ingest.Tests.Fuzzing;

/// <summary>
/// Fuzzes the FLV demuxer (legacy and Enhanced RTMP tags, and through it the codec configuration parsers) with
/// mutations of its case tables and real sequence headers. Its failure path is <c>false</c> with a reason.
/// </summary>
public class FlvFuzzTests(ITestOutputHelper output)
{
    private static readonly byte[] Hvc1 = "hvc1"u8.ToArray();
    private static readonly byte[] Av01 = "av01"u8.ToArray();

    public static IReadOnlyList<byte[]> Seeds()
    {
        List<byte[]> seeds =
        [
            [0x17, 0x00, 0x00, 0x00, 0x00, .. FlvDemuxerTests.HighAvcC],
            [0x17, 0x01, 0x00, 0x00, 0x42, .. FlvDemuxerTests.OneNal],
            [0x90, .. Hvc1, .. FlvDemuxerTests.MainHvcC],
            [0x91, .. Hvc1, 0x00, 0x00, 0x21, .. FlvDemuxerTests.OneNal],
            [0x93, .. Hvc1, .. FlvDemuxerTests.OneNal],
            [0x90, .. Av01, .. FlvDemuxerTests.LibaomAv1C],
            [0x91, .. Av01, 0x12, 0x00, 0x0A, 0x0B],
            [0xAF, 0x00, .. FlvDemuxerTests.AacLc48kStereo],
            [0xAF, 0x01, 0x21, 0x10, 0x04],
        ];
        seeds.AddRange(FuzzSeeds.Column(FlvTagHeaderTests.VideoCases, 2));
        seeds.AddRange(FuzzSeeds.Column(FlvTagHeaderTests.AudioCases, 2));
        seeds.AddRange(FuzzSeeds.Column(FlvDemuxerTests.BadVideo, 1).Where(b => b.Length > 0));
        seeds.AddRange(FuzzSeeds.Column(FlvDemuxerTests.BadAudio, 1).Where(b => b.Length > 0));
        return seeds;
    }

    [Theory]
    [InlineData("h264")]
    [InlineData("hvc1")]
    [InlineData("av01")]
    public void Demuxer_after_sequence_headers(string primed)
    {
        var seeds = Seeds();
        byte[] header = primed switch
        {
            "h264" => seeds[0],
            "hvc1" => seeds[2],
            _ => seeds[5],
        };
        var report = FuzzRunner.Run("flv " + primed, seeds, (input, random) =>
        {
            // A demuxer with tracks already set, so coded frames reach the stream, then the input as either kind.
            var stream = new LiveStream("fuzz");
            var demuxer = new FlvDemuxer(stream);
            if (!demuxer.TryWriteVideo(0, header, out var error) || !demuxer.TryWriteAudio(0, seeds[7], out error))
                throw new InvalidOperationException("priming failed: " + error);
            long ts = random.Between(0, int.MaxValue);
            bool video = demuxer.TryWriteVideo(ts, input, out var videoError);
            if (!video && string.IsNullOrEmpty(videoError)) throw new InvalidOperationException("video refused without a reason");
            bool audio = demuxer.TryWriteAudio(ts, input, out var audioError);
            if (!audio && string.IsNullOrEmpty(audioError)) throw new InvalidOperationException("audio refused without a reason");
            return video || audio;
        });
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }
}
