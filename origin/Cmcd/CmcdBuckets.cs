namespace Broadcast.Origin.Cmcd;

/// <summary>
/// What the players of one channel said through CMCD (CTA-5004) on this node in one bucket of
/// <see cref="ViewerSessions.BucketSeconds"/> (Unix seconds), as counts and sums: two nodes' or two buckets' samples add up
/// to the figures of both, which medians would not. Means are a sum over its count; the startup median is read from
/// <see cref="StartupBins"/>.
/// </summary>
/// <param name="Sessions">CMCD sessions that made a request in the bucket (a session is its 'sid', else the client key).</param>
/// <param name="StalledSessions">Of those, the ones that reported a buffer starvation ('bs', §3.3) in the bucket.</param>
/// <param name="Stalls">Requests with 'bs' in the bucket: each is one starvation since the session's previous request.</param>
/// <param name="Startups">Sessions whose first media object this node served in the bucket.</param>
/// <param name="StartupMsSum">Their startup times added (each: first request to first media object, ms).</param>
/// <param name="StartupBins">Those startups per <see cref="CmcdStartup.UpperMs"/> bin, then one bin for the slower ones.</param>
/// <param name="BitrateSamples">Video (or muxed) media requests that carried 'br'.</param>
/// <param name="BitrateKbpsSum">Their 'br' added, kbps.</param>
/// <param name="ThroughputSamples">Requests that carried 'mtp'.</param>
/// <param name="ThroughputKbpsSum">Their 'mtp' added, kbps.</param>
/// <param name="RungSwitches">Changes of a session's video 'br' between its consecutive video requests.</param>
/// <param name="MalformedValues">CMCD values dropped as malformed in the bucket (CmcdReader's rules).</param>
/// <param name="SessionsRefused">Requests of new sessions not tracked because the channel's table was full.</param>
public sealed record CmcdBucketSample(string Channel, long Bucket, long Sessions, long StalledSessions, long Stalls, long Startups,
    long StartupMsSum, IReadOnlyList<long> StartupBins, long BitrateSamples, long BitrateKbpsSum, long ThroughputSamples,
    long ThroughputKbpsSum, long RungSwitches, long MalformedValues, long SessionsRefused);

/// <summary>
/// The fixed startup-time bins: a histogram adds across nodes and buckets, so the whole show's median is known to its bin
/// (a sum and a count alone give only the mean, which one stuck player drags far).
/// </summary>
public static class CmcdStartup
{
    /// <summary>The bins' upper bounds, ms (inclusive); one more bin holds what is slower than the last.</summary>
    public static readonly IReadOnlyList<int> UpperMs = [500, 1000, 2000, 4000, 8000];

    /// <summary>How many bins: the bounded ones and the last, open one.</summary>
    public static int Bins => UpperMs.Count + 1;

    /// <summary>The bin <paramref name="ms"/> falls in.</summary>
    public static int BinOf(int ms)
    {
        for (int i = 0; i < UpperMs.Count; i++)
        {
            if (ms <= UpperMs[i]) return i;
        }

        return UpperMs.Count;
    }
}

/// <summary>
/// One channel's CMCD counts of the last few buckets, one slot each, reused round-robin. A slot is read once its bucket
/// ended (the sampler waits a second, the slot lives for two more buckets), so the sampler and the requests of the next
/// bucket never share a slot. Counters are updated with interlocked adds; a slot is cleared under its lock when a new
/// bucket takes it.
/// </summary>
internal sealed class CmcdBuckets
{
    private const int Slots = 3;
    private readonly Slot[] _slots = [new(), new(), new()];

    public Slot For(long bucket)
    {
        var slot = _slots[(int)((bucket / ViewerSessions.BucketSeconds) % Slots)];
        if (Volatile.Read(ref slot.Bucket) != bucket)
        {
            lock (slot)
            {
                if (slot.Bucket != bucket) slot.Reset(bucket);
            }
        }

        return slot;
    }

    /// <summary>The counts of <paramref name="bucket"/>, or null when its slot holds another bucket or nothing was said.</summary>
    public CmcdBucketSample? Read(string channel, long bucket)
    {
        var slot = _slots[(int)((bucket / ViewerSessions.BucketSeconds) % Slots)];
        lock (slot)
        {
            if (slot.Bucket != bucket) return null;
            long[] bins = new long[CmcdStartup.Bins];
            for (int i = 0; i < bins.Length; i++) bins[i] = Interlocked.Read(ref slot.StartupBins[i]);
            var sample = new CmcdBucketSample(channel, bucket, Interlocked.Read(ref slot.Sessions), Interlocked.Read(ref slot.StalledSessions),
                Interlocked.Read(ref slot.Stalls), Interlocked.Read(ref slot.Startups), Interlocked.Read(ref slot.StartupMsSum), bins,
                Interlocked.Read(ref slot.BitrateSamples), Interlocked.Read(ref slot.BitrateKbpsSum), Interlocked.Read(ref slot.ThroughputSamples),
                Interlocked.Read(ref slot.ThroughputKbpsSum), Interlocked.Read(ref slot.RungSwitches), Interlocked.Read(ref slot.Malformed),
                Interlocked.Read(ref slot.Refused));
            return sample.Sessions == 0 && sample.MalformedValues == 0 && sample.SessionsRefused == 0 ? null : sample;
        }
    }

    /// <summary>One bucket's counters (fields, for <see cref="Interlocked"/>).</summary>
    internal sealed class Slot
    {
        public long Bucket = long.MinValue;
        public long Sessions;
        public long StalledSessions;
        public long Stalls;
        public long Startups;
        public long StartupMsSum;
        public readonly long[] StartupBins = new long[CmcdStartup.Bins];
        public long BitrateSamples;
        public long BitrateKbpsSum;
        public long ThroughputSamples;
        public long ThroughputKbpsSum;
        public long RungSwitches;
        public long Malformed;
        public long Refused;

        public void AddStartup(int ms)
        {
            Interlocked.Increment(ref Startups);
            Interlocked.Add(ref StartupMsSum, ms);
            Interlocked.Increment(ref StartupBins[CmcdStartup.BinOf(ms)]);
        }

        public void Reset(long bucket)
        {
            Sessions = StalledSessions = Stalls = Startups = StartupMsSum = 0;
            BitrateSamples = BitrateKbpsSum = ThroughputSamples = ThroughputKbpsSum = RungSwitches = Malformed = Refused = 0;
            Array.Clear(StartupBins);
            Volatile.Write(ref Bucket, bucket);
        }
    }
}
