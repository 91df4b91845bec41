using Broadcast.Control.Clips;
using Broadcast.Packager.Live;
using Broadcast.Packager.Manifests;

namespace Broadcast.Clips;

/// <summary>
/// Retention's question answered from the clips table: a broadcast's segments whose numbers a clip of it covers (every
/// rendition), and its init segments while any clip of it exists. One query per delete batch.
/// </summary>
internal sealed class ClipRetentionHold(IClipRepository clips) : IRetentionHold
{
    /// <summary>The packager waits for the answer between two segments: a database slower than this keeps the batch for later.</summary>
    internal static readonly TimeSpan AnswerWithin = TimeSpan.FromSeconds(2);

    private static readonly IReadOnlySet<string> None = new HashSet<string>(StringComparer.Ordinal);

    public async ValueTask<IReadOnlySet<string>> HeldAsync(string channel, string broadcastId, IReadOnlyList<string> keys,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        IReadOnlyList<(long First, long Last)> ranges;
        using (var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            bound.CancelAfter(AnswerWithin);
            try
            {
                ranges = await clips.HeldRangesAsync(channel, broadcastId, bound.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Not a cancellation of the packaging: the hold could not say, so retention keeps the batch and asks again.
                throw new TimeoutException($"The clips table did not answer within {AnswerWithin.TotalSeconds:0} s.");
            }
        }
        if (ranges.Count == 0) return None;
        var held = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in keys)
            if (Holds(ranges, broadcastId, key[(key.LastIndexOf('/') + 1)..])) held.Add(key);
        return held;
    }

    /// <summary>Whether a file of the broadcast is held by one of <paramref name="ranges"/> (a low-latency part never is).</summary>
    internal static bool Holds(IReadOnlyList<(long First, long Last)> ranges, string broadcastId, string name)
    {
        if (!name.StartsWith(broadcastId + "-", StringComparison.Ordinal)) return false;
        if (name.StartsWith(broadcastId + "-init", StringComparison.Ordinal)) return ranges.Count > 0;
        return ClipPlaylist.TryParseSegmentNumber(name, out long n)
            && name == string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{broadcastId}-{n}.m4s")
            && ranges.Any(r => n >= r.First && n <= r.Last);
    }
}
