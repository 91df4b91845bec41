using System.Buffers;
using Broadcast.Media;
using Broadcast.Packager.Cmaf;

namespace Broadcast.Packager.Tests.Cmaf;

/// <summary>
/// A clip's piece (as ffmpeg times it: from 0, in its own timescale, no B-frames) put back on the timeline of the stored
/// segment it was cut from, a segment written as the packager writes one: two fragments (LL parts), 90 kHz, two B-frames,
/// so its first picture is presented two frames (6000 ticks) after its decode start.
/// </summary>
public class ClipPieceTimelineTests
{
    private static readonly byte[] AvcC = Convert.FromHexString(
        "0164000DFFE100196764000DACD94141FB0110000003001000000303C0F142996001000668EBE3CB22C0FDF8F800");

    internal static readonly VideoTrack Video = new(Codec.H264, AvcC, "avc1.64000d", 320, 240);
    internal static readonly AudioTrack Audio = new(Codec.Aac, new byte[] { 0x11, 0x90 }, "mp4a.40.2", 48000, 2);

    private const long StoredStart = 180_000;

    internal static byte[] Init(MediaTrack track, uint? timescale = null)
    {
        var output = new ArrayBufferWriter<byte>();
        CmafWriter.WriteInitSegment(output, track);
        return timescale is { } t ? CmafReader.WithTimescale(output.WrittenSpan, t) : output.WrittenSpan.ToArray();
    }

    /// <summary>12 frames of 3000 ticks from decode time 180000; frame n in presentation order is presented at 186000 + 3000·n.</summary>
    internal static byte[] StoredVideo()
    {
        int[] shown = [0, 3, 1, 2, 6, 4, 5, 9, 7, 8, 11, 10];
        var samples = shown.Select((p, k) => new CmafSample(new byte[] { 0, 0, 0, 1, (byte)k }, 3000, 6000 + 3000 * (p - k), k == 0)).ToArray();
        var output = new ArrayBufferWriter<byte>();
        CmafWriter.WriteMediaSegment(output, 7, 1, StoredStart, samples.AsSpan(0, 6), MediaKind.Video);
        CmafWriter.WriteFragment(output, 8, 1, StoredStart + 6 * 3000, samples.AsSpan(6), MediaKind.Video);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>A piece as ffmpeg writes one: decode time 0, 15360 ticks a second, pictures in order, the first a keyframe.</summary>
    internal static (byte[] Init, byte[] Segment) Piece(int frames, MediaKind kind, Func<int, byte[]>? payload = null)
    {
        var samples = Enumerable.Range(0, frames).Select(i => new CmafSample(payload?.Invoke(i) ?? [0, 0, 0, 1, 0x70], 512, 0, i == 0)).ToArray();
        var output = new ArrayBufferWriter<byte>();
        CmafWriter.WriteMediaSegment(output, 1, 1, 0, samples, kind);
        return (Init(kind == MediaKind.Video ? Video : Audio, 15360), output.WrittenSpan.ToArray());
    }

    private static IReadOnlyList<CmafReadSample> Read(TimedPiece piece) =>
        CmafReader.ReadSamples(piece.Segment, CmafReader.ReadInit(piece.Init));

    [Fact]
    public void A_piece_to_the_segments_end_shows_its_frames_when_the_stored_ones_were_and_ends_where_the_segment_does()
    {
        var (init, segment) = Piece(5, MediaKind.Video);
        var piece = ClipPieceTimeline.Place(Init(Video), StoredVideo(), init, segment, MediaKind.Video, TimeSpan.FromSeconds(7 / 30.0), true);

        // Frames 7..11: presented from 186000 + 7·3000 to the segment's presentation end (222000), decoded 6000 ahead.
        var samples = Read(piece);
        Assert.Equal([207_000, 210_000, 213_000, 216_000, 219_000], samples.Select(s => s.PresentationTime));
        Assert.Equal(201_000, samples[0].DecodeTime);
        Assert.Equal(222_000, samples[^1].PresentationTime + samples[^1].Duration);
        Assert.True(samples[0].IsSync);
        Assert.False(samples[1].IsSync);
        Assert.Equal((21_000L, 15_000L, 90_000u), (piece.DecodeOffset, piece.Duration, piece.Timescale));
        Assert.Equal(90_000u, CmafReader.ReadInit(piece.Init).Timescale);
        Assert.Equal(TimeSpan.FromSeconds(21_000 / 90_000.0), piece.Offset);
    }

    [Fact]
    public void A_piece_from_the_segments_start_or_cut_at_both_ends_starts_on_its_stored_frame()
    {
        var (init, segment) = Piece(4, MediaKind.Video);
        var last = Read(ClipPieceTimeline.Place(Init(Video), StoredVideo(), init, segment, MediaKind.Video, TimeSpan.Zero, false));
        Assert.Equal([186_000, 189_000, 192_000, 195_000], last.Select(s => s.PresentationTime));
        Assert.Equal(StoredStart, last[0].DecodeTime);

        var both = ClipPieceTimeline.Place(Init(Video), StoredVideo(), init, segment, MediaKind.Video, TimeSpan.FromSeconds(2 / 30.0), false);
        Assert.Equal(192_000, Read(both)[0].PresentationTime);
        Assert.Equal((6_000L, 12_000L), (both.DecodeOffset, both.Duration));
    }

    [Fact]
    public void Copied_audio_frames_are_found_by_their_bytes_and_a_piece_that_does_not_fit_is_refused()
    {
        var stored = new ArrayBufferWriter<byte>();
        CmafWriter.WriteMediaSegment(stored, 1, 1, 96_256, Enumerable.Range(0, 10).Select(i => new CmafSample(new byte[] { 0x21, (byte)i }, 1024, 0, true))
            .ToArray(), MediaKind.Audio);
        var (init, segment) = Piece(4, MediaKind.Audio, i => [0x21, (byte)(3 + i)]);
        var piece = ClipPieceTimeline.Place(Init(Audio), stored.WrittenMemory, init, segment, MediaKind.Audio, TimeSpan.FromSeconds(0.07), false);
        Assert.Equal(96_256 + 3 * 1024, Read(piece)[0].DecodeTime);
        Assert.Equal((3 * 1024L, 4 * 1024L, 48_000u), (piece.DecodeOffset, piece.Duration, piece.Timescale));

        var (tooLong, tooLongSegment) = Piece(13, MediaKind.Video);
        Assert.Throws<InvalidDataException>(() =>
            ClipPieceTimeline.Place(Init(Video), StoredVideo(), tooLong, tooLongSegment, MediaKind.Video, TimeSpan.Zero, false));
        Assert.Throws<InvalidDataException>(() =>
            ClipPieceTimeline.Place(Init(Video), StoredVideo().AsMemory(0, 40), init, segment, MediaKind.Video, TimeSpan.Zero, false));
    }
}
