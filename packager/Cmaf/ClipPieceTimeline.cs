using System.Buffers;
using Broadcast.Media;

namespace Broadcast.Packager.Cmaf;

/// <summary>A clip's piece on its stored segment's timeline: its init segment and media segment, and where it stands.</summary>
/// <param name="DecodeOffset">From the stored segment's first decode time (its tfdt, which its program date-time names) to the piece's, in <paramref name="Timescale"/>.</param>
/// <param name="Duration">The piece's decode span (what its EXTINF says), in <paramref name="Timescale"/>.</param>
public sealed record TimedPiece(byte[] Init, byte[] Segment, long DecodeOffset, long Duration, uint Timescale)
{
    /// <summary><see cref="DecodeOffset"/> as a time span (rounded to the tick).</summary>
    public TimeSpan Offset => Ticks(DecodeOffset);

    /// <summary><see cref="Duration"/> as a time span (rounded to the tick).</summary>
    public TimeSpan Length => Ticks(Duration);

    private TimeSpan Ticks(long value) =>
        TimeSpan.FromTicks((long)Math.Round((double)((decimal)value * TimeSpan.TicksPerSecond / Timescale), MidpointRounding.AwayFromZero));
}

/// <summary>
/// Puts a piece of a stored segment (a clip's end re-encoded or copied by ffmpeg, which times it from 0) back on the
/// stored segment's timeline, so the clip plays as one timeline across its ends (#66). The stored segments carry no edit
/// list: a B-frame stream's first picture is presented its composition offset after the segment's decode start. The
/// piece's samples keep their payloads and order, and take the stored frames' times: the piece's first presented
/// picture is presented when the stored frame it shows was, each picture after it when the next stored one was, the
/// last one lasts to where the stored one it shows ended, and its decode times run that composition offset ahead as
/// the stored segment's do (ISO/IEC 14496-12 §8.6.1.3, §8.8.12). So a player that maps a fragment by its decode time
/// (hls.js, Shaka at a new timeline) and one that maps it by its presentation times place piece and stored segments
/// end to end, video and audio alike, and the piece's init segment says the stored track's timescale.
/// </summary>
public static class ClipPieceTimeline
{
    /// <summary>
    /// The piece <paramref name="pieceInit"/> + <paramref name="piece"/> that ffmpeg cut from <paramref name="stored"/>
    /// (under <paramref name="storedInit"/>) from <paramref name="from"/> past its first presented frame, to its end
    /// when <paramref name="toSegmentEnd"/>, on the stored segment's timeline.
    /// </summary>
    public static TimedPiece Place(ReadOnlyMemory<byte> storedInit, ReadOnlyMemory<byte> stored, ReadOnlyMemory<byte> pieceInit,
        ReadOnlyMemory<byte> piece, MediaKind kind, TimeSpan from, bool toSegmentEnd)
    {
        var storedTrack = CmafReader.ReadInit(storedInit.Span);
        var storedSamples = CmafReader.ReadSamples(stored, storedTrack);
        var pieceTrack = CmafReader.ReadInit(pieceInit.Span);
        var pieceSamples = CmafReader.ReadSamples(piece, pieceTrack);
        if (storedSamples.Count == 0 || pieceSamples.Count == 0) throw new InvalidDataException("the stored segment or its piece has no sample");

        long decodeStart = storedSamples[0].DecodeTime;
        long[] presented = storedSamples.Select(s => s.PresentationTime).Order().ToArray();
        long presentedEnd = storedSamples.Max(s => s.PresentationTime + s.Duration);
        int n = pieceSamples.Count;
        int first = FirstFrame(storedSamples, presented, pieceSamples, kind, storedTrack.Timescale, from, toSegmentEnd);
        if (first < 0 || first + n > presented.Length)
            throw new InvalidDataException($"the piece's {n} frames do not fit the stored segment's {presented.Length} from its frame {first}");

        // The piece's own presentation order: its j-th sample in decode order shows its rank[j]-th picture.
        int[] order = Enumerable.Range(0, n).OrderBy(j => pieceSamples[j].PresentationTime).ThenBy(j => j).ToArray();
        int[] rank = new int[n];
        for (int i = 0; i < n; i++) rank[order[i]] = i;
        // The j-th decode slot takes the j-th presented time, held back by the stored segment's own lead (and by as
        // much more as the piece's reordering needs, so no composition offset is negative).
        long delay = presented[0] - decodeStart;
        for (int j = 0; j < n; j++) delay = Math.Max(delay, presented[first + j] - presented[first + rank[j]]);
        if (kind != MediaKind.Video && delay != 0) throw new InvalidDataException("an audio segment has composition offsets");

        var samples = new CmafSample[n];
        for (int j = 0; j < n; j++)
        {
            long duration = At(first + j + 1) - presented[first + j];
            long offset = presented[first + rank[j]] - presented[first + j] + delay;
            // A frame of no duration: two stored frames presented at the same time, which no encoder writes.
            if (duration is <= 0 or > uint.MaxValue || offset > int.MaxValue)
                throw new InvalidDataException("the stored segment's times do not fit a fragment");
            samples[j] = new CmafSample(pieceSamples[j].Data, (uint)duration, (int)offset, pieceSamples[j].IsSync);
        }
        long decodeTime = presented[first] - delay;
        if (decodeTime < 0) throw new InvalidDataException($"the piece would start at decode time {decodeTime}");
        var output = new ArrayBufferWriter<byte>(piece.Length + 64 + 16 * n);
        CmafWriter.WriteMediaSegment(output, 1, pieceTrack.TrackId, decodeTime, samples, kind);
        return new TimedPiece(CmafReader.WithTimescale(pieceInit.Span, storedTrack.Timescale), output.WrittenSpan.ToArray(),
            decodeTime - decodeStart, At(first + n) - presented[first], storedTrack.Timescale);

        long At(int i) => i < presented.Length ? presented[i] : presentedEnd;
    }

    /// <summary>Which stored frame (in presentation order) the piece's first picture is.</summary>
    private static int FirstFrame(IReadOnlyList<CmafReadSample> stored, long[] presented, IReadOnlyList<CmafReadSample> piece, MediaKind kind,
        uint timescale, TimeSpan from, bool toSegmentEnd)
    {
        // Copied frames (AAC) are the stored bytes: found where they stand, whatever frame ffmpeg's seek kept first.
        if (kind == MediaKind.Audio)
        {
            for (int i = 0; i + piece.Count <= stored.Count; i++)
                if (stored[i].Data.Span.SequenceEqual(piece[0].Data.Span)
                    && (piece.Count == 1 || stored[i + 1].Data.Span.SequenceEqual(piece[1].Data.Span)))
                    return i;
        }
        // A re-encoded piece that runs to the segment's end ends on its last frame; one from its start starts on its first.
        if (toSegmentEnd) return presented.Length - piece.Count;
        if (from <= TimeSpan.Zero) return 0;
        // Else ffmpeg's input seek kept the frames presented at or after `from` past the first: given to it to the
        // microsecond, and rounded by it to the nearest tick of the stream's timescale.
        long microseconds = (long)Math.Round(from.Ticks / 10.0, MidpointRounding.AwayFromZero);
        long target = (long)Math.Round((double)((decimal)microseconds * timescale / 1_000_000), MidpointRounding.AwayFromZero);
        int k = 0;
        while (k < presented.Length && presented[k] - presented[0] < target) k++;
        return k;
    }
}
