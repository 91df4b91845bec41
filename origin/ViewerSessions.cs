using System.Collections.Concurrent;

namespace Broadcast.Origin;

/// <summary>How a viewer plays: the kind of manifest its player asks for (segments are shared, so they tell nothing).</summary>
public enum ViewerDelivery : byte
{
    /// <summary>Only segments seen so far (the manifest came before this node saw the viewer).</summary>
    Unknown,
    Hls,

    /// <summary>Blocking playlist reloads (<c>_HLS_msn</c>, RFC 8216bis §6.2.5.2): a low-latency HLS player.</summary>
    LowLatencyHls,

    /// <summary>MPDs, live or low-latency DASH alike.</summary>
    Dash,
}

/// <summary>What a viewer's Common Media Client Data (CTA-5004) said in a bucket, for the audience kept per broadcast.</summary>
[Flags]
public enum ViewerCmcd : byte
{
    None = 0,

    /// <summary>A counted request carried CMCD data.</summary>
    Sent = 1,

    /// <summary>A counted request reported a stall: a buffer starvation ('bs', CTA-5004 §3.3), or 'su' from a player recovering (<see cref="Cmcd.CmcdAudience.Record"/>).</summary>
    Stalled = 2,
}

/// <summary>
/// One viewer of a channel seen in a bucket: its identity (not yet salted), its first and this bucket, its delivery, what
/// its CMCD said in this bucket, and its rung (<see cref="ViewerRungs"/>: the rendition of its latest media request in the
/// bucket, or null when it fetched none that named one).
/// </summary>
public readonly record struct ViewerSessionSample(ulong Viewer, long FirstBucket, long LastBucket, ViewerDelivery Delivery,
    ViewerCmcd Cmcd = ViewerCmcd.None, string? Rung = null);

/// <summary>How the origin failed a viewer's request for a channel's media (see <see cref="ViewerSessions.Failed"/>).</summary>
public enum RequestFailure : byte
{
    /// <summary>404: the object was not there (not yet written, already deleted, or never listed).</summary>
    NotFound,

    /// <summary>503: the store could not be read.</summary>
    Unavailable,
}

/// <summary>
/// What one channel's viewers did on this node in one bucket of <see cref="ViewerSessions.BucketSeconds"/>: how many made a
/// request, by delivery, who they were, how many requests came from viewers beyond the cap (counted nowhere else), and how
/// many of its media requests the origin failed (<see cref="NotFound"/>, <see cref="Unavailable"/>: counted in the bucket
/// they failed in, so a failure in the second the sampler waits after a bucket belongs to the next one).
/// </summary>
public sealed record ChannelViewerSample(string Channel, long Bucket, int Viewers, int Hls, int LowLatencyHls, int Dash,
    IReadOnlyList<ViewerSessionSample> Sessions, long Uncounted, long NotFound = 0, long Unavailable = 0);

/// <summary>
/// The viewers of each channel on this node in 10 s buckets (Unix seconds, UTC-aligned), for the audience kept per broadcast.
/// A viewer is the player's CMCD session id when it sends one, else the address-and-User-Agent key of <see cref="ViewerCounter"/>.
/// Each channel keeps at most <see cref="MaxSessionsPerChannel"/> viewers: a flood of invented session ids fills only its
/// own channel's table, and a viewer beyond the cap is counted as uncounted, never evicting one already there. Each viewer's
/// rung is the rendition its latest media request named (a video rung; an audio rendition only while it fetched no video),
/// from a table of at most <see cref="ViewerRungs.MaxRungs"/> names per channel, the rest <see cref="ViewerRungs.Other"/>.
/// </summary>
/// <remarks>
/// Hot path: <see cref="Touch"/> finds the channel by span and the viewer by key; a known viewer's bucket moves at most
/// once per bucket under its own lock, as each CMCD flag is set at most once per bucket, and a new viewer allocates its
/// state once. <see cref="Sample"/> runs every bucket.
/// </remarks>
public sealed class ViewerSessions
{
    public const int BucketSeconds = 10;

    /// <summary>The cap per channel (and so per broadcast and flush).</summary>
    public const int MaxSessionsPerChannel = 50_000;

    /// <summary>A viewer quiet for this many buckets leaves the table (and comes back as a new one in the same row).</summary>
    private const int QuietBuckets = 6;

    private readonly ConcurrentDictionary<string, Channel> _channels = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Channel>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    private readonly TimeProvider _time;
    private readonly int _maxSessions;
    private long _nextPrune;

    public ViewerSessions(TimeProvider time, int maxSessionsPerChannel = MaxSessionsPerChannel)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSessionsPerChannel, 1);
        _time = time;
        _maxSessions = maxSessionsPerChannel;
        _bySpan = _channels.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>
    /// A viewer's identity from an id the player or the server gave it (a CMCD session id, a WHEP session's id): the same
    /// value on every node, so the audience kept per broadcast counts it once across origins. Never a table's key here: a
    /// client could aim an unkeyed hash at one bucket (this node's tables take <c>CmcdReader</c>'s keyed hash).
    /// </summary>
    public static ulong IdentityOf(ReadOnlySpan<char> id) => Cmcd.CmcdReader.Hash(id, 0);

    /// <summary>The start (Unix seconds) of the bucket <paramref name="at"/> falls in.</summary>
    public static long BucketOf(DateTimeOffset at)
    {
        long seconds = at.ToUnixTimeSeconds();
        return seconds - (((seconds % BucketSeconds) + BucketSeconds) % BucketSeconds);
    }

    /// <summary>Records a request of <paramref name="viewer"/> for <paramref name="channel"/> now (its key is its identity).</summary>
    public void Touch(ReadOnlySpan<char> channel, ulong viewer, ViewerDelivery delivery, ViewerCmcd cmcd = ViewerCmcd.None,
        ReadOnlySpan<char> rendition = default) =>
        Touch(channel, viewer, viewer, delivery, cmcd, rendition);

    /// <summary>
    /// Records a request for <paramref name="channel"/> now of the viewer found by <paramref name="viewer"/> in this node's
    /// table (a key flooding cannot aim at) and reported as <paramref name="identity"/> (the same on every node, so the
    /// audience kept per broadcast counts it once across origins); <paramref name="cmcd"/> joins the flags of its bucket, and
    /// <paramref name="rendition"/> (the rendition the request's key names, empty for none) becomes its rung.
    /// </summary>
    public void Touch(ReadOnlySpan<char> channel, ulong viewer, ulong identity, ViewerDelivery delivery, ViewerCmcd cmcd = ViewerCmcd.None,
        ReadOnlySpan<char> rendition = default)
    {
        long bucket = BucketOf(_time.GetUtcNow());
        // Quiet viewers leave even where no sampler reads the table (a node without the database): once a minute, by
        // whichever request crosses the deadline.
        long due = Volatile.Read(ref _nextPrune);
        if (bucket >= due && Interlocked.CompareExchange(ref _nextPrune, bucket + (QuietBuckets * BucketSeconds), due) == due)
            Prune(bucket - (QuietBuckets * BucketSeconds));
        if (!_bySpan.TryGetValue(channel, out var entry))
            entry = _channels.GetOrAdd(channel.ToString(), static _ => new Channel());
        if (!entry.Sessions.TryGetValue(viewer, out var session))
        {
            // The count is read before adding: under a race a few more than the cap may get in, never without bound.
            if (entry.Sessions.Count >= _maxSessions)
            {
                Interlocked.Increment(ref entry.Uncounted);
                return;
            }

            session = entry.Sessions.GetOrAdd(viewer, static (_, state) => new Session(state.Bucket, state.Identity), (Bucket: bucket, Identity: identity));
        }

        session.Seen(bucket, delivery, cmcd, Volatile.Read(ref entry.Rungs).Of(rendition));
    }

    /// <summary>
    /// Counts a media request of <paramref name="channel"/> the origin answered with <paramref name="failure"/>. Only a
    /// channel already in the table counts (one that served a viewer on this node): a request for an invented channel adds
    /// nothing, so the table stays keyed by what the origin served.
    /// </summary>
    public void Failed(ReadOnlySpan<char> channel, RequestFailure failure)
    {
        if (!_bySpan.TryGetValue(channel, out var entry)) return;
        entry.Failures.Add(BucketOf(_time.GetUtcNow()), failure);
    }

    private void Prune(long quietBefore)
    {
        foreach (var (_, channel) in _channels)
        {
            foreach (var (viewer, session) in channel.Sessions)
            {
                if (session.Read().Last < quietBefore) channel.Sessions.TryRemove(new KeyValuePair<ulong, Session>(viewer, session));
            }
        }
    }

    /// <summary>
    /// The viewers of every channel that made a request in the bucket starting at <paramref name="bucket"/> (call it once
    /// that bucket ended, before the next one does); viewers quiet for a minute leave the table.
    /// </summary>
    public IReadOnlyList<ChannelViewerSample> Sample(long bucket)
    {
        var samples = new List<ChannelViewerSample>();
        long quietBefore = bucket - (QuietBuckets * BucketSeconds);
        foreach (var (name, channel) in _channels)
        {
            int hls = 0, lowLatency = 0, dash = 0;
            var sessions = new List<ViewerSessionSample>();
            // The distinct rungs of this sample, capped again: a name from a table replaced while a viewer joined (below)
            // folds into "other" rather than pass the bound.
            var rungs = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (viewer, session) in channel.Sessions)
            {
                var (first, last, previous, delivery, lastCmcd, previousCmcd) = session.Read();
                if (last == bucket || previous == bucket)
                {
                    string? rung = session.RungOf(bucket);
                    if (rung is not null && !rungs.Contains(rung) && (rungs.Count >= ViewerRungs.MaxRungs || !rungs.Add(rung))) rung = ViewerRungs.Other;
                    sessions.Add(new ViewerSessionSample(session.Identity, first, bucket, delivery, last == bucket ? lastCmcd : previousCmcd, rung));
                    if (delivery == ViewerDelivery.Hls) hls++;
                    else if (delivery == ViewerDelivery.LowLatencyHls) lowLatency++;
                    else if (delivery == ViewerDelivery.Dash) dash++;
                }
                else if (last < quietBefore)
                {
                    channel.Sessions.TryRemove(new KeyValuePair<ulong, Session>(viewer, session));
                }
            }

            // A channel nobody watches on this node starts its rung names over: its next broadcast may have another ladder.
            // A viewer that joins meanwhile keeps a name of the old table, which stays a real name.
            if (channel.Sessions.IsEmpty && Volatile.Read(ref channel.Rungs).Count > 0) Volatile.Write(ref channel.Rungs, new ViewerRungs());
            long uncounted = Interlocked.Exchange(ref channel.Uncounted, 0);
            var (notFound, unavailable) = channel.Failures.Take(bucket);
            if (sessions.Count > 0 || uncounted > 0 || notFound > 0 || unavailable > 0)
                samples.Add(new ChannelViewerSample(name, bucket, sessions.Count, hls, lowLatency, dash, sessions, uncounted, notFound, unavailable));
        }

        return samples;
    }

    private sealed class Channel
    {
        public readonly ConcurrentDictionary<ulong, Session> Sessions = new();
        public ViewerRungs Rungs = new();
        public long Uncounted;
        public readonly Failures Failures = new();
    }

    /// <summary>
    /// A channel's failed requests in its latest two buckets, each counted in the bucket it failed in: the sampler reads a
    /// bucket up to a second after the next began (its settle), and a failure in that second belongs to the next one. A
    /// bucket never read is dropped when a later one starts. Failures are few (404s, 503s), so one lock will do.
    /// </summary>
    private sealed class Failures
    {
        private long _bucket = long.MinValue;
        private long _notFound, _unavailable, _previousNotFound, _previousUnavailable;

        public void Add(long bucket, RequestFailure failure)
        {
            lock (this)
            {
                if (bucket > _bucket)
                {
                    bool next = _bucket != long.MinValue && bucket == _bucket + BucketSeconds;
                    (_previousNotFound, _previousUnavailable) = next ? (_notFound, _unavailable) : (0, 0);
                    (_bucket, _notFound, _unavailable) = (bucket, 0, 0);
                }

                if (bucket == _bucket)
                {
                    if (failure == RequestFailure.NotFound) _notFound++;
                    else _unavailable++;
                }
                else if (bucket == _bucket - BucketSeconds)
                {
                    if (failure == RequestFailure.NotFound) _previousNotFound++;
                    else _previousUnavailable++;
                }
            }
        }

        /// <summary>The failures of <paramref name="bucket"/>, once: they are zero after.</summary>
        public (long NotFound, long Unavailable) Take(long bucket)
        {
            lock (this)
            {
                if (bucket == _bucket)
                {
                    var taken = (_notFound, _unavailable);
                    (_notFound, _unavailable) = (0, 0);
                    return taken;
                }

                if (_bucket != long.MinValue && bucket == _bucket - BucketSeconds)
                {
                    var taken = (_previousNotFound, _previousUnavailable);
                    (_previousNotFound, _previousUnavailable) = (0, 0);
                    return taken;
                }

                return (0, 0);
            }
        }
    }

    /// <summary>
    /// A viewer's first bucket, its latest two (the sampler may read a bucket after the next began) with the CMCD flags and
    /// the rung of each, its delivery.
    /// </summary>
    private sealed class Session(long firstBucket, ulong identity)
    {
        private readonly long _first = firstBucket;

        /// <summary>What the audience kept per broadcast knows it by (see <see cref="Touch(ReadOnlySpan{char}, ulong, ulong, ViewerDelivery, ViewerCmcd)"/>).</summary>
        public ulong Identity { get; } = identity;
        private long _last = firstBucket;
        private long _previous = long.MinValue;
        private int _delivery;

        // The flags of _last and _previous: written only under the lock, so a flag lands in the bucket its request fell in
        // even while another request starts the next bucket; read without it only to skip a flag the bucket already has.
        private int _lastCmcd;
        private int _previousCmcd;

        // The rung of the latest media request (written without the lock: one reference), and the rung _previous ended on,
        // taken when the next bucket starts. A request in flight as the bucket turns may land its rung in the next one.
        private string? _rung;
        private string? _previousRung;

        public void Seen(long bucket, ViewerDelivery delivery, ViewerCmcd cmcd, string? rung)
        {
            if (delivery != ViewerDelivery.Unknown) Volatile.Write(ref _delivery, (int)delivery);
            if (!HasAlready(bucket, cmcd))
            {
                lock (this)
                {
                    if (bucket > _last)
                    {
                        _previous = _last;
                        _previousCmcd = _lastCmcd;
                        _previousRung = Volatile.Read(ref _rung);
                        _lastCmcd = 0;
                        Volatile.Write(ref _last, bucket);
                    }

                    // A request of an older bucket finishing late: its flags go to that bucket, or nowhere once it is gone.
                    if (bucket == _last) Volatile.Write(ref _lastCmcd, _lastCmcd | (int)cmcd);
                    else if (bucket == _previous) _previousCmcd |= (int)cmcd;
                }
            }

            // A late request of an older bucket leaves the rung as it is; an audio rendition stands only for no video rung.
            if (rung is null || bucket < Volatile.Read(ref _last)) return;
            var had = Volatile.Read(ref _rung);
            if (ReferenceEquals(had, rung) || (ViewerRungs.IsAudio(rung) && had is not null && !ViewerRungs.IsAudio(had))) return;
            Volatile.Write(ref _rung, rung);
        }

        /// <summary>The rung of <paramref name="bucket"/>: the latest's, or the one the previous bucket ended on.</summary>
        public string? RungOf(long bucket)
        {
            lock (this) return bucket == _last ? Volatile.Read(ref _rung) : bucket == _previous ? _previousRung : null;
        }

        /// <summary>
        /// True when nothing is left to record: no flag and <paramref name="bucket"/> is not newer than the latest, or
        /// <paramref name="bucket"/> is the latest and has every flag of <paramref name="cmcd"/> already. The bucket
        /// is read again after the flags: buckets only move forward, so the same bucket both times means the flags read were
        /// that bucket's (a new bucket clears the flags before it is published).
        /// </summary>
        private bool HasAlready(long bucket, ViewerCmcd cmcd)
        {
            long last = Volatile.Read(ref _last);
            if (cmcd == ViewerCmcd.None) return bucket <= last;
            if (last != bucket) return false;
            int flags = Volatile.Read(ref _lastCmcd);
            return (flags & (int)cmcd) == (int)cmcd && Volatile.Read(ref _last) == bucket;
        }

        public (long First, long Last, long Previous, ViewerDelivery Delivery, ViewerCmcd LastCmcd, ViewerCmcd PreviousCmcd) Read()
        {
            lock (this) return (_first, _last, _previous, (ViewerDelivery)Volatile.Read(ref _delivery), (ViewerCmcd)_lastCmcd, (ViewerCmcd)_previousCmcd);
        }
    }
}
