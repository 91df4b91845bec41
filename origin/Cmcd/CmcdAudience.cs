using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Broadcast.Origin.Cmcd;

/// <summary>What the players of one channel reported through CMCD over the last viewer window, on this node.</summary>
/// <param name="Sessions">Playback sessions that made a request in the window.</param>
/// <param name="StalledSessions">Of those, the ones that reported a stall in the window: a buffer starvation ('bs'), or 'su' while
/// recovering (see the session's rule).</param>
/// <param name="Stalls">Stalls reported in the window, all sessions together.</param>
/// <param name="MedianStartupMs">Median time from a session's first request to its first media object, ms; -1 when none yet.</param>
/// <param name="MedianBufferMs">Median of each session's latest buffer length ('bl'), ms; -1 when none reported it.</param>
/// <param name="MeanBitrateKbps">Mean of each session's latest encoded bitrate ('br'), kbps; -1 when none reported it.</param>
/// <param name="MedianThroughputKbps">Median of each session's latest measured throughput ('mtp'), kbps; -1 when none.</param>
/// <param name="RungSwitches">Changes of a session's video bitrate between consecutive video requests in the window.</param>
/// <param name="MalformedValues">CMCD values dropped as malformed since the node started (all sessions, also those not kept).</param>
/// <param name="SessionsRefused">Sessions not kept because the channel's table was full, since the node started.</param>
public sealed record CmcdChannelQuality(int Sessions, int StalledSessions, int Stalls, int MedianStartupMs, int MedianBufferMs,
    int MeanBitrateKbps, int MedianThroughputKbps, int RungSwitches, long MalformedValues, long SessionsRefused);

/// <summary>
/// The live playback quality of each channel, from the CMCD its players send with their requests (CTA-5004). A session is
/// the player's 'sid' when it sends one, else the address-and-User-Agent key the viewer count uses. Each channel keeps at
/// most <see cref="OriginOptions.CmcdMaxSessionsPerChannel"/> sessions: a flood of invented session ids fills only its own
/// channel's table, and sessions already there keep being counted (a new one is refused, never an old one evicted).
/// Beside the live window, each channel counts what was said per 10 s bucket (<see cref="Sample"/>,
/// <see cref="CmcdBucketSample"/>): the playback quality kept per broadcast after the show.
/// </summary>
/// <remarks>
/// Hot path: <see cref="Record"/> finds the channel by span and the session by its hash, and updates the session's few
/// numbers under its own lock; a new session allocates its state once. Sessions quiet for twice the viewer window go.
/// </remarks>
public sealed class CmcdAudience
{
    private readonly ConcurrentDictionary<string, Channel> _channels = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Channel>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    private readonly TimeProvider _time;
    private readonly long _windowTicks;
    private readonly int _maxSessions;
    private long _nextPrune;
    private long _malformed;

    public CmcdAudience(IOptions<OriginOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _time = time;
        _windowTicks = (long)(options.Value.ViewerWindow.TotalSeconds * time.TimestampFrequency);
        _maxSessions = options.Value.CmcdMaxSessionsPerChannel;
        _bySpan = _channels.GetAlternateLookup<ReadOnlySpan<char>>();
        _nextPrune = time.GetTimestamp() + _windowTicks;
    }

    /// <summary>Channels that have had a CMCD session on this node.</summary>
    public IReadOnlyCollection<string> Channels => [.. _channels.Keys];

    /// <summary>
    /// Records one request of <paramref name="channel"/> carrying <paramref name="data"/>; <paramref name="clientHash"/>
    /// is the session when the player sent no 'sid'; <paramref name="isMedia"/> when the object is a segment or part.
    /// </summary>
    /// <returns>Whether the request reported a stall of its session ('bs', or 'su' while recovering: see the session's
    /// rule): what the audience kept per broadcast counts as the viewer's stall.</returns>
    public bool Record(ReadOnlySpan<char> channel, in CmcdData data, ulong clientHash, bool isMedia)
    {
        if (data.MalformedValues > 0) Interlocked.Add(ref _malformed, data.MalformedValues);
        if (!data.HasData && data.MalformedValues == 0) return false;
        long now = _time.GetTimestamp();
        // The channel is the first segment of a key the origin served: a real channel, so the table stays bounded.
        if (!_bySpan.TryGetValue(channel, out var entry))
            entry = _channels.GetOrAdd(channel.ToString(), static _ => new Channel());
        var slot = entry.Buckets.For(ViewerSessions.BucketOf(_time.GetUtcNow()));
        if (data.MalformedValues > 0) Interlocked.Add(ref slot.Malformed, data.MalformedValues);
        if (!data.HasData) return false;
        ulong id = data.SessionIdHash != 0 ? data.SessionIdHash : clientHash;
        if (!entry.Sessions.TryGetValue(id, out var session))
        {
            // The count is read before adding: under a race a few more than the cap may get in, never without bound.
            if (entry.Sessions.Count >= _maxSessions)
            {
                Interlocked.Increment(ref entry.Refused);
                Interlocked.Increment(ref slot.Refused);
                return false;
            }

            // A static factory with its argument: a lambda capturing 'now' would allocate its closure on every call.
            session = entry.Sessions.GetOrAdd(id, static (_, at) => new Session(at), now);
        }

        bool stalled = session.Update(now, data, isMedia, _time.TimestampFrequency, slot);
        if (now >= Volatile.Read(ref _nextPrune)) Prune(now);
        return stalled;
    }

    /// <summary>
    /// What each channel's players said in the bucket starting at <paramref name="bucket"/> (Unix seconds; read it after the
    /// bucket ended and within the next two): the counts the audience kept per broadcast stores. Reading changes nothing,
    /// so a bucket read again (a retried flush) reads the same.
    /// </summary>
    public IReadOnlyList<CmcdBucketSample> Sample(long bucket)
    {
        var samples = new List<CmcdBucketSample>();
        foreach (var (name, channel) in _channels)
        {
            if (channel.Buckets.Read(name, bucket) is { } sample) samples.Add(sample);
        }

        return samples;
    }

    /// <summary>The channel's figures over the last window, or null when no player of it sent CMCD.</summary>
    public CmcdChannelQuality? Quality(string channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        if (!_channels.TryGetValue(channel, out var entry)) return null;
        long cutoff = _time.GetTimestamp() - _windowTicks;
        int sessions = 0, stalled = 0, stalls = 0, switches = 0;
        var startups = new List<int>();
        var buffers = new List<int>();
        var throughputs = new List<int>();
        long bitrateSum = 0;
        int bitrates = 0;
        foreach (var (_, session) in entry.Sessions)
        {
            lock (session)
            {
                if (session.LastSeen <= cutoff) continue;
                sessions++;
                int recentStalls = session.StallsSince(cutoff);
                stalls += recentStalls;
                if (recentStalls > 0) stalled++;
                switches += session.SwitchesSince(cutoff);
                if (session.StartupMs >= 0) startups.Add(session.StartupMs);
                if (session.BufferMs >= 0) buffers.Add(session.BufferMs);
                if (session.ThroughputKbps >= 0) throughputs.Add(session.ThroughputKbps);
                if (session.BitrateKbps >= 0)
                {
                    bitrateSum += session.BitrateKbps;
                    bitrates++;
                }
            }
        }

        return new CmcdChannelQuality(sessions, stalled, stalls, Median(startups), Median(buffers),
            bitrates == 0 ? -1 : (int)(bitrateSum / bitrates), Median(throughputs), switches, Interlocked.Read(ref _malformed),
            Interlocked.Read(ref entry.Refused));
    }

    private static int Median(List<int> values)
    {
        if (values.Count == 0) return -1;
        values.Sort();
        return values[values.Count / 2];
    }

    private void Prune(long now)
    {
        long scheduled = Volatile.Read(ref _nextPrune);
        if (now < scheduled || Interlocked.CompareExchange(ref _nextPrune, now + _windowTicks, scheduled) != scheduled) return;
        long cutoff = now - (2 * _windowTicks);
        foreach (var (_, channel) in _channels)
        {
            foreach (var (id, session) in channel.Sessions)
            {
                if (Volatile.Read(ref session.LastSeen) <= cutoff) channel.Sessions.TryRemove(new KeyValuePair<ulong, Session>(id, session));
            }
        }
    }

    private sealed class Channel
    {
        public readonly ConcurrentDictionary<ulong, Session> Sessions = new();
        public readonly CmcdBuckets Buckets = new();
        public long Refused;
    }

    /// <summary>One playback session's latest figures and its recent events (stalls, switches) as timestamps in small rings.</summary>
    private sealed class Session(long firstSeen)
    {
        private const int Recent = 16;
        private readonly long[] _stalls = new long[Recent];
        private readonly long[] _switches = new long[Recent];
        private int _stallCount;
        private int _switchCount;
        private long _firstMedia = -1;
        private readonly long _firstSeen = firstSeen;
        private int _lastVideoBitrate = -1;

        public long LastSeen = firstSeen;
        public int StartupMs = -1;
        public int BufferMs = -1;
        public int BitrateKbps = -1;
        public int ThroughputKbps = -1;

        /// <summary>The buckets this session was last counted in, and last counted as stalled in.</summary>
        private long _countedBucket = long.MinValue;
        private long _stalledBucket = long.MinValue;

        /// <summary>The media kinds ('ot' video or muxed, audio) this session has asked for as a playing player (no 'su').</summary>
        private PlayedKinds _played;

        /// <summary>A stall was counted and no media has been asked for since without 'su': the player is still recovering.</summary>
        private bool _recovering;

        /// <summary>The kinds of media a stall is told for ('ot'): video (muxed and unnamed with it) and audio.</summary>
        [Flags]
        private enum PlayedKinds : byte
        {
            None = 0,
            Video = 1,
            Audio = 2,
        }

        /// <summary>
        /// Counts a stall when the player reports one: 'bs' (the buffer ran empty), or 'su' on media of a kind it already
        /// played without 'su' (CTA-5004 §3.3: the object is needed urgently "due to startup, seeking or recovery after a
        /// buffer-empty event"; past startup, a stall or a seek, both a wait to the viewer). Shaka (5.2, CMCD version 1)
        /// sends no 'bs' at all, only 'su' while it rebuffers; hls.js and dash.js send 'bs' with 'su' after the buffer ran
        /// empty (dash.js once per media kind), and 'su' on their first media of each kind. One stall counts until the player
        /// asks for media without 'su' again.
        /// </summary>
        /// <returns>Whether this request reported a stall.</returns>
        public bool Update(long now, in CmcdData data, bool isMedia, long frequency, CmcdBuckets.Slot slot)
        {
            lock (this)
            {
                Volatile.Write(ref LastSeen, now);
                if (_countedBucket != slot.Bucket)
                {
                    _countedBucket = slot.Bucket;
                    Interlocked.Increment(ref slot.Sessions);
                }

                if (isMedia && _firstMedia < 0)
                {
                    _firstMedia = now;
                    // A session whose first media here already has media buffered ('bl' above zero) and is not needed
                    // urgently (no 'su') was playing before it reached this node: a load balancer or an edge moved it
                    // from another origin, which counted its startup. Its wait here is no startup.
                    if (data.Startup || data.BufferLengthMs <= 0)
                    {
                        StartupMs = (int)Math.Min(int.MaxValue, (now - _firstSeen) * 1000 / frequency);
                        slot.AddStartup(StartupMs);
                    }
                }

                bool recoversPlayedMedia = isMedia && data.Startup && (_played & KindOf(data.ObjectType)) != 0;
                bool stalled = !_recovering && (data.BufferStarvation || recoversPlayedMedia);
                if (stalled) _recovering = true;
                if (isMedia && !data.Startup)
                {
                    _played |= KindOf(data.ObjectType);
                    _recovering = false;
                }

                if (stalled)
                {
                    _stalls[_stallCount++ % Recent] = now;
                    Interlocked.Increment(ref slot.Stalls);
                    if (_stalledBucket != slot.Bucket)
                    {
                        _stalledBucket = slot.Bucket;
                        Interlocked.Increment(ref slot.StalledSessions);
                    }
                }

                if (data.BufferLengthMs >= 0) BufferMs = data.BufferLengthMs;
                if (data.MeasuredThroughputKbps >= 0)
                {
                    ThroughputKbps = data.MeasuredThroughputKbps;
                    Interlocked.Increment(ref slot.ThroughputSamples);
                    Interlocked.Add(ref slot.ThroughputKbpsSum, data.MeasuredThroughputKbps);
                }

                if (data.EncodedBitrateKbps >= 0 && data.ObjectType is CmcdObjectType.Video or CmcdObjectType.Muxed or CmcdObjectType.None)
                {
                    BitrateKbps = data.EncodedBitrateKbps;
                    if (isMedia)
                    {
                        // The bitrate of what was delivered: media objects only (a playlist request's 'br' names no object's).
                        Interlocked.Increment(ref slot.BitrateSamples);
                        Interlocked.Add(ref slot.BitrateKbpsSum, data.EncodedBitrateKbps);
                    }

                    if (_lastVideoBitrate >= 0 && _lastVideoBitrate != data.EncodedBitrateKbps)
                    {
                        _switches[_switchCount++ % Recent] = now;
                        Interlocked.Increment(ref slot.RungSwitches);
                    }

                    _lastVideoBitrate = data.EncodedBitrateKbps;
                }

                return stalled;
            }
        }

        private static PlayedKinds KindOf(CmcdObjectType type) => type switch
        {
            CmcdObjectType.Audio => PlayedKinds.Audio,
            CmcdObjectType.Video or CmcdObjectType.Muxed or CmcdObjectType.None => PlayedKinds.Video,
            _ => PlayedKinds.None,
        };

        public int StallsSince(long cutoff) => CountSince(_stalls, _stallCount, cutoff);

        public int SwitchesSince(long cutoff) => CountSince(_switches, _switchCount, cutoff);

        private static int CountSince(long[] ring, int count, long cutoff)
        {
            int n = 0;
            for (int i = 0; i < Math.Min(count, Recent); i++)
            {
                if (ring[i] > cutoff) n++;
            }

            return n;
        }
    }
}
