namespace Broadcast.WebRtc.Whep;

/// <summary>
/// The WHEP viewers of a 10 s bucket for the audience kept per broadcast: the sessions connected when the bucket is read,
/// and those that connected and ended since the read before. Reading only the sessions open at that instant missed a
/// viewer who watched for a few seconds between two reads, and counted one who left mid-bucket out of the bucket they
/// watched in. A session with no media yet (its PeerConnection not up) is no viewer. One sampler reads it once a bucket;
/// the ended sessions waiting are capped (a node's viewers pass its admission, so a bucket's are far fewer; past the cap
/// the oldest give their place up).
/// </summary>
public sealed class WhepAttendance
{
    /// <summary>Ended sessions kept for the next read at most.</summary>
    public const int MaxEndedPerRead = 4096;

    private readonly Lock _gate = new();
    private readonly Queue<WhepSessionGrant> _ended = new();

    /// <summary>A session that had connected has ended: it counts in the bucket read next.</summary>
    public void Ended(WhepSessionGrant grant)
    {
        lock (_gate)
        {
            if (_ended.Count >= MaxEndedPerRead) _ended.Dequeue();
            _ended.Enqueue(grant);
        }
    }

    /// <summary>
    /// The bucket's viewers: <paramref name="connected"/> (the sessions with media now) and those ended since the last read,
    /// each once (one that ended while <paramref name="connected"/> was taken is in both).
    /// </summary>
    public IReadOnlyList<WhepSessionGrant> Read(IReadOnlyList<WhepSessionGrant> connected)
    {
        lock (_gate)
        {
            var viewers = new List<WhepSessionGrant>(connected.Count + _ended.Count);
            var ids = new HashSet<string>(StringComparer.Ordinal);
            foreach (var grant in connected.Concat(_ended))
                if (ids.Add(grant.Id)) viewers.Add(grant);
            _ended.Clear();
            return viewers;
        }
    }
}
