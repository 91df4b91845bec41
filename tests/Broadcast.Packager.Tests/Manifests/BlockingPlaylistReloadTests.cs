using Broadcast.Packager.Manifests;
using Position = Broadcast.Packager.Manifests.LowLatencyPlaylist.Position;

namespace Broadcast.Packager.Tests.Manifests;

/// <summary>RFC 8216bis 6.2.5.2, blocking playlist reload: one case table of (name, playlist position, request, decision).</summary>
public sealed class BlockingPlaylistReloadTests
{
    /// <summary>Segment 4 complete with six parts (0-5), segment 5 open with parts 0 and 1 listed; Part Target 0.368 s.</summary>
    private static readonly Position Open = new(5, 2, 2, true, 368, 6);

    /// <summary>Segment 4 has just closed (six parts); segment 5 has none yet.</summary>
    private static readonly Position JustClosed = new(5, 0, 2, true, 368, 6);

    /// <summary>Parts of 1.5 s: the Advance Part Limit is three.</summary>
    private static readonly Position LongParts = new(5, 2, 6, true, 1500, 4);

    /// <summary>A playlist that lists no parts for segment 4 (its part count unknown).</summary>
    private static readonly Position NoPartsOfPrevious = new(5, 2, 2, true, 368);

    public static readonly TheoryData<string, Position, long, int?, BlockingReloadDecision> Cases = new()
    {
        { "an older segment", Open, 3, null, BlockingReloadDecision.Ready },
        { "the last complete segment", Open, 4, null, BlockingReloadDecision.Ready },
        { "the open segment waits for its end", Open, 5, null, BlockingReloadDecision.Wait },
        { "a listed part", Open, 5, 1, BlockingReloadDecision.Ready },
        { "the hinted part waits", Open, 5, 2, BlockingReloadDecision.Wait },
        { "a part after the hint waits", Open, 5, 4, BlockingReloadDecision.Wait },
        { "a part of the last complete segment", Open, 4, 5, BlockingReloadDecision.Ready },
        { "an older segment's part", Open, 3, 9, BlockingReloadDecision.Ready },
        { "past the last complete segment's final part is part 0 of the open one, listed", Open, 4, 6, BlockingReloadDecision.Ready },
        { "past the final part, part 0 of the open one not yet listed", JustClosed, 4, 6, BlockingReloadDecision.Wait },
        { "far past the final part, part 0 of the open one not yet listed", JustClosed, 4, 9, BlockingReloadDecision.Wait },
        { "the final part of the segment that just closed", JustClosed, 4, 5, BlockingReloadDecision.Ready },
        { "the segment that just closed", JustClosed, 4, null, BlockingReloadDecision.Ready },
        { "part 0 of the open segment, not yet written", JustClosed, 5, 0, BlockingReloadDecision.Wait },
        { "past the open segment's expected parts waits (it may run long, or this is part 0 of the next)", Open, 5, 7, BlockingReloadDecision.Wait },
        { "eight parts past the last listed: at the Advance Part Limit", Open, 5, 9, BlockingReloadDecision.Wait },
        { "nine parts past the last listed: beyond it", Open, 5, 10, BlockingReloadDecision.TooFarAhead },
        { "the next segment's part 0", Open, 6, 0, BlockingReloadDecision.Wait },
        { "the next segment, at the limit counted across segments", Open, 6, 3, BlockingReloadDecision.Wait },
        { "the next segment, beyond the limit", Open, 6, 4, BlockingReloadDecision.TooFarAhead },
        { "from the segment that just closed, across the open one (eight parts past 4.5)", JustClosed, 6, 1, BlockingReloadDecision.Wait },
        { "from the segment that just closed, beyond the limit", JustClosed, 6, 2, BlockingReloadDecision.TooFarAhead },
        { "the next segment alone: two past the last complete segment", Open, 6, null, BlockingReloadDecision.Wait },
        { "three past the last complete segment", Open, 7, null, BlockingReloadDecision.TooFarAhead },
        { "long parts: three past the last listed", LongParts, 5, 4, BlockingReloadDecision.Wait },
        { "long parts: four past the last listed", LongParts, 5, 5, BlockingReloadDecision.TooFarAhead },
        { "unknown part count of the last complete segment: its part is held", NoPartsOfPrevious, 4, 9, BlockingReloadDecision.Ready },
        { "no hint (an ended or ordinary playlist)", new Position(0, 0, 2, false), 99, 3, BlockingReloadDecision.Ready },
        { "the largest part index", Open, 5, int.MaxValue, BlockingReloadDecision.TooFarAhead },
        { "the largest segment number", Open, long.MaxValue, 0, BlockingReloadDecision.TooFarAhead },
        { "a huge position, a small request", new Position(long.MaxValue / 2, 3, 2, true, 368, 6), 1, 0, BlockingReloadDecision.Ready },
        { "a huge target duration", new Position(5, 2, long.MaxValue, true, 368), 6, 0, BlockingReloadDecision.Wait },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decides_by_rfc_8216bis_6_2_5_2(string name, Position position, long msn, int? part, BlockingReloadDecision expected) =>
        Assert.True(expected == BlockingPlaylistReload.Decide(position, msn, part), name);

    [Theory]
    [InlineData(368, 8)]
    [InlineData(333, 9)]
    [InlineData(200, 15)]
    [InlineData(999, 3)]
    [InlineData(1000, 3)]
    [InlineData(2000, 3)]
    [InlineData(0, 3)]
    public void The_advance_part_limit_is_three_seconds_of_parts_or_three(int partTargetMs, int limit) =>
        Assert.Equal(limit, BlockingPlaylistReload.AdvancePartLimit(partTargetMs));
}
