using Broadcast.Packager.Cmaf.Encryption;

namespace Broadcast.Packager.Live;

/// <summary>
/// A broadcast's key rotation: a new content key every <paramref name="SegmentsPerKey"/> segments, each asked of the key
/// provider by <paramref name="NextKeyAsync"/> a whole key period before it is used (so a slow key server never holds a
/// segment back).
/// </summary>
public sealed record KeyRotation(int SegmentsPerKey, Func<CancellationToken, ValueTask<ContentKeyGrant>> NextKeyAsync)
{
    /// <summary>The most segments one key may cover (a channel's setting is at most this).</summary>
    public const int MaxSegmentsPerKey = 1000;
}

/// <summary>One key period of a broadcast: from its first segment on, its media is encrypted under <see cref="Protection"/>'s key.</summary>
internal sealed class KeyPeriod
{
    internal KeyPeriod(int index, long firstSegment, BroadcastProtection protection)
    {
        Index = index;
        FirstSegment = firstSegment;
        Protection = protection;
        OwnHeaders = index == 0 ? [] : protection.SystemHeaders.ToArray();
    }

    public int Index { get; }

    public long FirstSegment { get; }

    public BroadcastProtection Protection { get; }

    /// <summary>The pssh boxes this period's fragments carry before the next key is known: its own (the first period's are in
    /// the init segment already).</summary>
    public ReadOnlyMemory<byte>[] OwnHeaders { get; }

    /// <summary>From which of this period's segments on its fragments announce the next key; null while it is not known.</summary>
    public long? NextAnnouncedFrom { get; internal set; }

    /// <summary>Its own pssh boxes and the next key's, which its fragments carry from <see cref="NextAnnouncedFrom"/> on.</summary>
    public ReadOnlyMemory<byte>[] HeadersWithNext { get; internal set; } = [];
}

/// <summary>
/// Which key encrypts each segment of a rotated (or not) broadcast, decided once per segment number, so every rendition, a
/// segment and its LL parts, and the manifests agree. A period lasts <see cref="KeyRotation.SegmentsPerKey"/> segments from
/// its first; the next key is asked for as the period starts and announced (its pssh in every fragment's moof, ISO/IEC
/// 23001-7 §8.1) from the first segment decided after it arrived. A key that has not arrived when its period is due leaves
/// the current key in force, one segment at a time, and says so (<see cref="Warning"/>); a failed ask is asked again.
/// Serialised by the broadcast's packager; the ask runs on its own and is read only through its task.
/// </summary>
internal sealed class KeySchedule : IDisposable
{
    private readonly List<KeyPeriod> _periods = [];
    private readonly KeyRotation? _rotation;
    private readonly CancellationTokenSource _stop = new();
    private long _decidedThrough = long.MinValue;
    private Task<BroadcastProtection>? _next;
    private BroadcastProtection? _upcoming;

    public KeySchedule(BroadcastProtection first)
    {
        ArgumentNullException.ThrowIfNull(first);
        First = first;
        _rotation = first.Rotation;
        if (first.ContinuedPeriods is not { Count: > 0 } continued) return;
        // A continued broadcast: the periods the node that died began, so the playlists name each restored segment's own key,
        // and the first new segment stays under the last of them (its players hold that key) until its period is over.
        _periods.Add(new KeyPeriod(0, long.MinValue, First));
        foreach (var c in continued)
            _periods.Add(new KeyPeriod(_periods.Count, c.FirstSegment, c.Protection with { ConstantIv = first.ConstantIv, Rotation = _rotation }));
        AskNext();
    }

    /// <summary>The broadcast's first key: its init segments' default_KID, the MPD's and the master's.</summary>
    public BroadcastProtection First { get; }

    /// <summary>The periods decided so far, in order (none before the first segment).</summary>
    public IReadOnlyList<KeyPeriod> Periods => _periods;

    /// <summary>Why the key in force outlasted its period, while it does; null otherwise.</summary>
    public string? Warning { get; private set; }

    /// <summary>Rotations held back so far because the next key had not arrived (one per segment held).</summary>
    public long HeldSegments { get; private set; }

    /// <summary>The period of segment <paramref name="number"/>, deciding it when this is the first ask for a number so high.</summary>
    public KeyPeriod For(long number)
    {
        if (number <= _decidedThrough) return Find(number);
        _decidedThrough = number;
        if (_periods.Count == 0)
        {
            _periods.Add(new KeyPeriod(0, number, First));
            AskNext();
            return _periods[0];
        }
        var current = _periods[^1];
        if (_rotation is null) return current;
        TakeArrivedKey(current, number);
        if (number - current.FirstSegment < _rotation.SegmentsPerKey) return current;
        if (_upcoming is null)
        {
            HeldSegments++;
            Warning ??= $"key rotation is late: the key provider has not given the next key; segments stay under the current key (from segment {number})";
            return current;
        }
        var period = new KeyPeriod(_periods.Count, number, _upcoming);
        _periods.Add(period);
        _upcoming = null;
        Warning = null;
        AskNext();
        return period;
    }

    /// <summary>The pssh boxes the fragments of segment <paramref name="number"/> (of <paramref name="period"/>) carry in their moof.</summary>
    public static ReadOnlyMemory<byte>[] FragmentHeaders(KeyPeriod period, long number) =>
        period.NextAnnouncedFrom is { } from && number >= from ? period.HeadersWithNext : period.OwnHeaders;

    private KeyPeriod Find(long number)
    {
        for (int i = _periods.Count - 1; i > 0; i--)
            if (_periods[i].FirstSegment <= number) return _periods[i];
        return _periods[0];
    }

    private void TakeArrivedKey(KeyPeriod current, long number)
    {
        if (_upcoming is not null || _next is not { IsCompleted: true } next) return;
        _next = null;
        if (next.IsCompletedSuccessfully)
        {
            _upcoming = next.Result;
            current.HeadersWithNext = [.. current.OwnHeaders, .. _upcoming.SystemHeaders];
            current.NextAnnouncedFrom = number;
            return;
        }
        // The provider's failure (already logged by it) is said in the warning; it is asked again at once.
        Warning = $"key rotation is late: the key provider refused the next key ({next.Exception?.GetBaseException().Message ?? "cancelled"})";
        AskNext();
    }

    private void AskNext()
    {
        if (_rotation is null || _stop.IsCancellationRequested) return;
        _next = AskAsync(_rotation, First, _stop.Token);
    }

    // Not Task.Run: a provider that answers at once (a cached key) is taken at the next segment, and one that waits on I/O
    // returns at its first await, so the packager goes on meanwhile.
    private static async Task<BroadcastProtection> AskAsync(KeyRotation rotation, BroadcastProtection first, CancellationToken token)
    {
        var grant = await rotation.NextKeyAsync(token).ConfigureAwait(false);
        // Checked as the first key was; the constant IV stays the broadcast's ('cbcs': one per track, §10.4, whatever the key).
        return BroadcastProtection.From(first.Scheme, grant) with { ConstantIv = first.ConstantIv, Rotation = rotation };
    }

    /// <summary>Stops an ask in flight (the broadcast ended). The source is not disposed: an ask may still read its token.</summary>
    public void Dispose() => _stop.Cancel();
}
