using System.Collections.Concurrent;

namespace Broadcast.Origin;

/// <summary>
/// When this node last served each channel's <c>{channel}/thumbnail.jpg</c> (a 200 or a 304): the thumbnail maker renews
/// a picture at its full rate only while someone looks at it. Only objects the store holds are recorded, so the table
/// holds real channels; it is capped all the same (<see cref="MaxChannels"/>), pruning the oldest looks first.
/// </summary>
/// <remarks>Hot path: a span lookup and an 8-byte write in place; the only allocation is a channel's first look.</remarks>
public sealed class ThumbnailLooks
{
    /// <summary>Channels remembered at once; past it, looks older than <see cref="Forgotten"/> go, and then new ones are not kept.</summary>
    public const int MaxChannels = 10_000;

    /// <summary>A look this old no longer says anything about what anyone looks at.</summary>
    public static readonly TimeSpan Forgotten = TimeSpan.FromMinutes(10);

    private const string FileName = "thumbnail.jpg";

    private readonly ConcurrentDictionary<string, long> _looks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    private readonly TimeProvider _time;

    public ThumbnailLooks(TimeProvider time)
    {
        _time = time;
        _bySpan = _looks.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Channels with a look remembered (for tests and status).</summary>
    public int Count => _looks.Count;

    /// <summary>Records a look when <paramref name="key"/> is a channel's thumbnail (<c>{channel}/thumbnail.jpg</c>).</summary>
    public void Served(ReadOnlySpan<char> key)
    {
        int slash = key.IndexOf('/');
        if (slash <= 0 || !key[(slash + 1)..].SequenceEqual(FileName)) return;
        ReadOnlySpan<char> channel = key[..slash];
        long now = _time.GetTimestamp();
        if (_bySpan.ContainsKey(channel))
        {
            _bySpan[channel] = now;
            return;
        }

        if (_looks.Count >= MaxChannels && !Prune(now)) return;
        _looks[channel.ToString()] = now;
    }

    /// <summary>How long ago this node last served <paramref name="channel"/>'s thumbnail; null when not within <see cref="Forgotten"/>.</summary>
    public TimeSpan? SinceLastLook(string channel)
    {
        if (!_looks.TryGetValue(channel, out long seen)) return null;
        TimeSpan since = _time.GetElapsedTime(seen);
        return since < Forgotten ? since : null;
    }

    // Drops forgotten looks; true when that made room.
    private bool Prune(long now)
    {
        long cutoff = now - (long)(Forgotten.TotalSeconds * _time.TimestampFrequency);
        foreach (var look in _looks)
        {
            if (look.Value <= cutoff) _looks.TryRemove(look);
        }

        return _looks.Count < MaxChannels;
    }
}
