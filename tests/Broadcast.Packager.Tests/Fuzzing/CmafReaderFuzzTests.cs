using System.Buffers;
using Broadcast.Media;
using Broadcast.Packager.Cmaf;
using Broadcast.Packager.Tests.Cmaf;
using Broadcast.TestSupport;
using Broadcast.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace Broadcast.Packager.Tests.Fuzzing;

/// <summary>
/// Fuzzes <see cref="CmafReader"/> — what reads a stored segment and ffmpeg's piece back when a clip's ends are cut —
/// and <see cref="ClipPieceTimeline.Place"/> on top of it, from mutations of single-track fragmented MP4 as the packager
/// writes it (B-frames, two fragments), as ffmpeg writes it (x264 with two B-frames, AAC) and of the reader's own
/// case table. A damaged input is refused with <see cref="InvalidDataException"/>; nothing else may escape.
/// </summary>
[Trait("Kind", "Component")]
public class CmafReaderFuzzTests(ITestOutputHelper output)
{
    /// <summary>
    /// A read sample is 40 bytes and the list that holds them doubles (up to 160 bytes a sample); every sample is at
    /// least one byte of the input, so allocation stays in proportion to the input, at a larger factor than text parsers.
    /// </summary>
    private static readonly FuzzOptions Options = new() { AllocatedBytesPerInputByte = 256 };

    private void Check(FuzzReport report)
    {
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }

    private static byte[] Packaged(MediaTrack track, byte[] segment) => [.. ClipPieceTimelineTests.Init(track), .. segment];

    private static byte[] AudioSegment()
    {
        var stored = new ArrayBufferWriter<byte>();
        CmafWriter.WriteMediaSegment(stored, 1, 1, 96_256, Enumerable.Range(0, 10).Select(i => new CmafSample(new byte[] { 0x21, (byte)i }, 1024, 0, true))
            .ToArray(), MediaKind.Audio);
        return stored.WrittenSpan.ToArray();
    }

    /// <summary>ffmpeg's fragmented MP4 of one track (init and fragments in one file), small enough to mutate whole.</summary>
    private static byte[] Ffmpeg(TempDirectory dir, string name, params string[] encode)
    {
        string path = dir.Combine(name + ".mp4");
        MediaTools.Run("ffmpeg", [
            "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10", "-f", "lavfi",
            "-i", "sine=frequency=440:sample_rate=8000", "-t", "1", .. encode,
            "-movflags", "frag_keyframe+empty_moov+default_base_moof", "-f", "mp4", path]);
        return File.ReadAllBytes(path);
    }

    private static List<byte[]> Seeds()
    {
        using var dir = new TempDirectory();
        var seeds = new List<byte[]>
        {
            Packaged(ClipPieceTimelineTests.Video, ClipPieceTimelineTests.StoredVideo()),
            Packaged(ClipPieceTimelineTests.Audio, AudioSegment()),
            CmafReaderTests.Init().Concat(CmafReaderTests.ValidSegment()).ToArray(),
            Ffmpeg(dir, "video", "-map", "0:v", "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "5"),
            Ffmpeg(dir, "audio", "-map", "1:a", "-c:a", "aac", "-b:a", "16k", "-ac", "1"),
        };
        // The case table's damaged inputs, init and segment together.
        foreach (var row in CmafReaderTests.Damaged()) seeds.Add([.. (byte[])row[1], .. (byte[])row[2]]);
        return seeds;
    }

    [Fact]
    public void Init_and_segment_read_back()
    {
        Check(FuzzRunner.Run("cmaf reader", Seeds(), (input, _) =>
        {
            try
            {
                var track = CmafReader.ReadInit(input);
                var samples = CmafReader.ReadSamples(input, track);
                if (samples.Any(s => s.Data.IsEmpty)) throw new InvalidOperationException("an empty sample");
                if (samples.Sum(s => (long)s.Data.Length) > input.Length) throw new InvalidOperationException("samples larger than the input");
                var retimed = CmafReader.ReadInit(CmafReader.WithTimescale(input, 48_000));
                if (retimed.Timescale != 48_000 || retimed.TrackId != track.TrackId) throw new InvalidOperationException("the timescale was not rewritten");
                return true;
            }
            catch (InvalidDataException)
            {
                return false;
            }
        }, Options));
    }

    /// <summary>A damaged stored segment under a good piece: the piece is placed and reads back, or the cut is refused.</summary>
    [Fact]
    public void A_piece_placed_on_a_damaged_stored_segment()
    {
        var storedInit = ClipPieceTimelineTests.Init(ClipPieceTimelineTests.Video);
        var pieces = new[] { 2, 5, 12 }.Select(n => ClipPieceTimelineTests.Piece(n, MediaKind.Video)).ToList();
        double[] froms = [0, 1 / 30.0, 7 / 30.0, 0.5];
        var seeds = new List<byte[]> { ClipPieceTimelineTests.StoredVideo() };
        var report = FuzzRunner.Run("clip piece timeline", seeds, (input, random) =>
        {
            var (init, segment) = random.Pick(pieces);
            TimedPiece placed;
            try
            {
                placed = ClipPieceTimeline.Place(storedInit, input, init, segment, MediaKind.Video, TimeSpan.FromSeconds(random.Pick(froms)), random.Chance(2));
            }
            catch (InvalidDataException)
            {
                return false;
            }
            var back = CmafReader.ReadSamples(placed.Segment, CmafReader.ReadInit(placed.Init));
            if (back.Count != CmafReader.ReadSamples(segment, CmafReader.ReadInit(init)).Count || back.Any(s => s.CompositionOffset < 0))
                throw new InvalidOperationException("the placed piece does not read back as its samples");
            if (placed.Duration <= 0 || back.Any(s => s.Duration == 0)) throw new InvalidOperationException("a piece or a frame of no duration");
            return true;
        }, Options);
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }
}
