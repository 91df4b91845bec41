namespace Broadcast.Packager.Manifests;

/// <summary>What a blocking playlist reload asks of the playlist as it stands now.</summary>
public enum BlockingReloadDecision
{
    /// <summary>The playlist holds what was asked for (or is not a live low-latency playlist): serve it.</summary>
    Ready,

    /// <summary>Not yet: hold the request until the playlist changes.</summary>
    Wait,

    /// <summary>Further ahead than a client may ask (section 6.2.5.2): 400 at once.</summary>
    TooFarAhead,
}

/// <summary>
/// Blocking Playlist Reload, RFC 8216bis section 6.2.5.2: whether a request with <c>_HLS_msn=M</c> (and
/// <c>_HLS_part=N</c>) can be answered by a live low-latency playlist that stands at <see cref="LowLatencyPlaylist.Position"/>
/// (its preload hint names the next part). The rules it applies:
/// <list type="bullet">
/// <item>M alone: answer once the playlist holds Media Segment M or later (a segment is held once it is complete).</item>
/// <item>M and N: answer once it holds Part N of segment M or later. A Part index past the final Part of segment M is a
/// request for Part 0 of segment M + 1 ("MUST treat the request as one for Part Index 0 of the following Parent
/// Segment"): while segment M is open its final Part is not known, so such a request waits; once it closes its Part
/// count is the playlist's.</item>
/// <item>400 when M is more than two past the last Media Segment (the last complete one: the hinted part's segment minus one), or
/// when N is more than the Advance Part Limit past the last Part listed: three divided by the Part Target in
/// seconds when that is under a second, three otherwise (eight Parts of 0.368 s).</item>
/// </list>
/// </summary>
public static class BlockingPlaylistReload
{
    public static BlockingReloadDecision Decide(LowLatencyPlaylist.Position position, long msn, int? part)
    {
        if (!position.HasHint) return BlockingReloadDecision.Ready;
        long next = position.NextMsn;
        long lastSegment = next - 1;
        if (msn > lastSegment + 2) return BlockingReloadDecision.TooFarAhead;
        if (part is int n && PartsPastLastListed(position, msn, n) > AdvancePartLimit(position.PartTargetMilliseconds))
            return BlockingReloadDecision.TooFarAhead;

        if (msn < lastSegment) return BlockingReloadDecision.Ready; // complete, and so is the segment after it
        if (msn == lastSegment)
        {
            // Segment M is complete. A part it has, or M alone: held. A part past its final one is Part 0 of the open segment.
            if (part is not int k || position.PartsOfPrevious < 0 || k < position.PartsOfPrevious) return BlockingReloadDecision.Ready;
            return position.NextPart > 0 ? BlockingReloadDecision.Ready : BlockingReloadDecision.Wait;
        }
        if (msn == next && part is int p && p < position.NextPart) return BlockingReloadDecision.Ready;
        return BlockingReloadDecision.Wait;
    }

    /// <summary>The Advance Part Limit of section 6.2.5.2 for a Part Target in milliseconds (3 when it is not known).</summary>
    public static int AdvancePartLimit(int partTargetMilliseconds) =>
        partTargetMilliseconds is > 0 and < 1000 ? 3000 / partTargetMilliseconds : 3;

    /// <summary>
    /// How many Parts (M, N) lies past the last Part the playlist lists (Part NextPart - 1 of the open segment, counting
    /// back into the last complete segment when the open one has none yet), for M no more than one segment from the open
    /// one (an older M is behind, a newer one too far ahead by segments already). A segment not yet written counts as
    /// many Parts as the last complete one (or as Part Targets fill the target duration, when its Parts are not listed).
    /// </summary>
    private static long PartsPastLastListed(LowLatencyPlaylist.Position position, long msn, int part)
    {
        long offset = msn - position.NextMsn; // -1, 0 or 1
        if (offset < -1) return long.MinValue;
        long perSegment = position.PartsOfPrevious > 0
            ? position.PartsOfPrevious
            : position.PartTargetMilliseconds > 0 && position.TargetSeconds is > 0 and <= 3600
                ? Math.Max(1, position.TargetSeconds * 1000 / position.PartTargetMilliseconds)
                : 1;
        return offset * perSegment + part - (position.NextPart - 1L);
    }
}
