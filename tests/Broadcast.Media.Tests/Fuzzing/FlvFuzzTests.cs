using Broadcast.Media.Flv;
using Broadcast.Media.Tests.Flv;
using Broadcast.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace Broadcast.Media.Tests.Fuzzing;

/// <summary>
/// Fuzzes the FLV reader: the demuxer on tag bodies (legacy and Enhanced RTMP tags, and through it the codec configuration
/// parsers), and the byte-stream reader with the demuxer behind it (what a pipe from ffmpeg goes through), with mutations of
/// their case tables and real sequence headers. Their failure path is <c>false</c> (or an error) with a reason.
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
        seeds.AddRange(FuzzSeeds.Column(FlvVideoMultitrackTests.BadMultitrack, 1));
        seeds.AddRange(FuzzSeeds.Column(FlvVideoMultitrackTests.BadEnhancedAudio, 1));
        seeds.Add([0x95, 0x11, .. "mp4a"u8.ToArray(), 0, 0, 0, 2, 0x21, 0x10, 1, 0, 0, 2, 0x21, 0x10]);
        seeds.Add(FlvVideoMultitrackTests.ManyTracks(1, 0, (0, FlvDemuxerTests.HighAvcC), (1, FlvDemuxerTests.HighAvcC)));
        seeds.Add(FlvVideoMultitrackTests.ManyTracks(1, 1, (0, [0, 0, 0, .. FlvDemuxerTests.OneNal]), (1, [0, 0, 0, .. FlvDemuxerTests.OneNal])));
        // Multitrack audio: a ManyTracks sequence start of tracks 0 and 1 (track 1 is alternate audio), then frames of both.
        seeds.Add([0x95, 0x10, .. "mp4a"u8.ToArray(), 0, 0, 0, 2, .. FlvDemuxerTests.AacLc48kStereo, 1, 0, 0, 2, 0x12, 0x08]);
        seeds.Add([0x95, 0x11, .. "mp4a"u8.ToArray(), 0, 0, 0, 2, 0x21, 0x10, 1, 0, 0, 3, 0x21, 0x10, 0x04]);
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
            // A demuxer with tracks already set, so coded frames reach the stream, then the input as either kind. It takes
            // multitrack publishes, so mutated multitrack messages reach the extra tracks too.
            var stream = new LiveStream("fuzz");
            var demuxer = new FlvDemuxer(stream, maxVideoTracks: 4, maxAudioTracks: 3);
            if (!demuxer.TryWriteVideo(0, header, out var error) || !demuxer.TryWriteAudio(0, seeds[7], out error))
                throw new InvalidOperationException("priming failed: " + error);
            long ts = random.Between(0, int.MaxValue);
            bool video = demuxer.TryWriteVideo(ts, input, out var videoError);
            if (!video && string.IsNullOrEmpty(videoError)) throw new InvalidOperationException("video refused without a reason");
            bool audio = demuxer.TryWriteAudio(ts, input, out var audioError);
            if (!audio && string.IsNullOrEmpty(audioError)) throw new InvalidOperationException("audio refused without a reason");
            if (stream.AlternateAudioTracks.Count > 2) throw new InvalidOperationException("more alternate audio tracks than the cap");
            return video || audio;
        });
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }

    [Fact]
    public void Stream_reader_and_demuxer_on_piped_flv()
    {
        // The case tables' tags behind a file header, and a whole stream as the transcoder writes it.
        byte[] header = Convert.FromHexString("464C5601050000000900000000");
        byte[][] tags = [.. FuzzSeeds.Column(FlvMuxerTests.Cases, 2).Where(t => t[0] != (byte)'F'), .. FuzzSeeds.Column(FlvTagHeaderTests.TagCases, 4)];
        List<byte[]> seeds = [header, .. tags.Select(tag => (byte[])[.. header, .. tag])];
        seeds.Add([.. header, .. Tag(9, [0x17, 0x00, 0x00, 0x00, 0x00, .. FlvDemuxerTests.HighAvcC]), .. Tag(9, [0x17, 0x01, 0x00, 0x00, 0x42, .. FlvDemuxerTests.OneNal]),
            .. Tag(8, [0xAF, 0x00, .. FlvDemuxerTests.AacLc48kStereo]), .. Tag(8, [0xAF, 0x01, 0x21, 0x10, 0x04])]);
        var report = FuzzRunner.Run("flv stream", seeds, (input, random) =>
        {
            // Whole or cut in two at a random byte, as a pipe delivers it; every tag to the demuxer.
            var demuxer = new FlvDemuxer(new LiveStream("fuzz"));
            var reader = new FlvStreamReader();
            string? tagError = null;
            bool Handle(FlvTag tag) => demuxer.TryWrite(tag, out tagError);
            int cut = random.Between(0, input.Length);
            var first = new System.Buffers.ReadOnlySequence<byte>(input, 0, cut);
            long consumed = reader.Read(first, Handle, out string? error).GetInteger();
            if (error is null && tagError is null)
            {
                var rest = new System.Buffers.ReadOnlySequence<byte>(input, (int)consumed, input.Length - (int)consumed);
                consumed += rest.Slice(0, reader.Read(rest, Handle, out error)).Length;
            }
            if (consumed > input.Length) throw new InvalidOperationException("consumed past the input");
            return error is null && tagError is null && consumed == input.Length;
        });
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }

    /// <summary>A file tag around <paramref name="data"/>: header at time 0, the data, PreviousTagSize.</summary>
    private static byte[] Tag(byte type, byte[] data) =>
    [
        type, (byte)(data.Length >> 16), (byte)(data.Length >> 8), (byte)data.Length, 0, 0, 0, 0, 0, 0, 0, .. data,
        0, 0, (byte)((11 + data.Length) >> 8), (byte)(11 + data.Length),
    ];
}
