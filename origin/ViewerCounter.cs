using System.Collections.Concurrent;
using System.Net;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;

namespace Broadcast.Origin;

/// <summary>
/// Counts distinct clients per channel over a sliding window. A client is the hash of its IP address and
/// User-Agent: players behind one NAT with different browsers count apart, one player's many requests count once.
/// Behind a CDN every viewer is the edge; the count is then "edges", which is all an origin can know.
/// </summary>
/// <remarks>
/// Hot path: <see cref="Touch"/> hashes without allocating, finds the channel through a span lookup, and writes
/// a clock value in place (ConcurrentDictionary updates 8-byte values without a new node). Stale clients are
/// pruned at most twice a window, by whichever request crosses the deadline.
/// </remarks>
public sealed class ViewerCounter : IViewerCounter
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<ulong, long>> _channels = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<ulong, long>>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    private readonly TimeProvider _time;
    private readonly long _windowTicks;
    private readonly long _refreshTicks;
    private long _nextPrune;

    public ViewerCounter(IOptions<OriginOptions> options, TimeProvider time)
    {
        _time = time;
        TimeSpan window = options.Value.ViewerWindow;
        if (window <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Origin:ViewerWindow must be positive.");
        }

        _windowTicks = (long)(window.TotalSeconds * time.TimestampFrequency);
        // Re-stamping a client more than once a second buys nothing against a 30 s window.
        _refreshTicks = Math.Min(_windowTicks / 4, time.TimestampFrequency);
        _bySpan = _channels.GetAlternateLookup<ReadOnlySpan<char>>();
        _nextPrune = time.GetTimestamp() + (_windowTicks / 2);
    }

    /// <summary>Records that <paramref name="clientHash"/> fetched media of <paramref name="channel"/> now.</summary>
    public void Touch(ReadOnlySpan<char> channel, ulong clientHash)
    {
        long now = _time.GetTimestamp();
        if (!_bySpan.TryGetValue(channel, out ConcurrentDictionary<ulong, long>? clients))
        {
            // First viewer of a channel in this process: the only allocation, once per channel.
            clients = _channels.GetOrAdd(channel.ToString(), static _ => new ConcurrentDictionary<ulong, long>());
        }

        if (!clients.TryGetValue(clientHash, out long seen) || now - seen >= _refreshTicks)
        {
            clients[clientHash] = now;
        }

        if (now >= Volatile.Read(ref _nextPrune))
        {
            long scheduled = Volatile.Read(ref _nextPrune);
            if (now >= scheduled && Interlocked.CompareExchange(ref _nextPrune, now + (_windowTicks / 2), scheduled) == scheduled)
            {
                Prune(now);
            }
        }
    }

    public IReadOnlyCollection<string> Channels => [.. _channels.Keys];

    public int GetViewers(string channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        if (!_channels.TryGetValue(channel, out ConcurrentDictionary<ulong, long>? clients))
        {
            return 0;
        }

        long cutoff = _time.GetTimestamp() - _windowTicks;
        int count = 0;
        foreach (KeyValuePair<ulong, long> client in clients)
        {
            if (client.Value > cutoff)
            {
                count++;
            }
        }

        return count;
    }

    private void Prune(long now)
    {
        long cutoff = now - _windowTicks;
        foreach (KeyValuePair<string, ConcurrentDictionary<ulong, long>> channel in _channels)
        {
            foreach (KeyValuePair<ulong, long> client in channel.Value)
            {
                if (client.Value <= cutoff)
                {
                    // Removes only if not re-stamped since we read it: a returning viewer is never lost.
                    channel.Value.TryRemove(client);
                }
            }
        }
    }

    /// <summary>
    /// FNV-1a 64 over the address bytes and the User-Agent's UTF-16 code units. Not a defence against anyone:
    /// a colliding pair of clients is counted once, which a viewer count tolerates.
    /// </summary>
    public static ulong HashClient(IPAddress? address, ReadOnlySpan<char> userAgent)
    {
        Span<byte> bytes = stackalloc byte[16];
        int written = 0;
        if (address is not null && address.TryWriteBytes(bytes, out written) && address.IsIPv4MappedToIPv6)
        {
            // IPv4-mapped IPv6 and plain IPv4 must hash alike: Kestrel reports either depending on the socket.
            bytes[12..16].CopyTo(bytes);
            written = 4;
        }

        return HashBytes(bytes[..written], userAgent);
    }

    /// <summary>
    /// The same hash from an address given as text (an edge's log line): IPv4 dotted quads are read without allocating,
    /// anything else through <see cref="IPAddress.TryParse(ReadOnlySpan{char}, out IPAddress?)"/>; text that is no address
    /// hashes as no address.
    /// </summary>
    public static ulong HashClient(ReadOnlySpan<char> address, ReadOnlySpan<char> userAgent)
    {
        Span<byte> bytes = stackalloc byte[4];
        if (TryParseDottedQuad(address, bytes)) return HashBytes(bytes, userAgent);
        return HashClient(IPAddress.TryParse(address, out var parsed) ? parsed : null, userAgent);
    }

    /// <summary>Four decimal numbers 0-255 separated by dots, without leading zeros (which some parsers read as octal).</summary>
    internal static bool TryParseDottedQuad(ReadOnlySpan<char> text, Span<byte> bytes)
    {
        int part = 0, value = 0, digits = 0;
        foreach (char c in text)
        {
            if (c == '.')
            {
                if (digits == 0 || part == 3) return false;
                bytes[part++] = (byte)value;
                value = 0;
                digits = 0;
            }
            else if (c is >= '0' and <= '9')
            {
                if (digits > 0 && value == 0) return false;
                value = value * 10 + (c - '0');
                if (++digits > 3 || value > 255) return false;
            }
            else
            {
                return false;
            }
        }

        if (digits == 0 || part != 3) return false;
        bytes[3] = (byte)value;
        return true;
    }

    private static ulong HashBytes(ReadOnlySpan<byte> significant, ReadOnlySpan<char> userAgent)
    {
        const ulong offsetBasis = 14695981039346656037UL;
        const ulong prime = 1099511628211UL;
        ulong hash = offsetBasis;
        foreach (byte b in significant)
        {
            hash = (hash ^ b) * prime;
        }

        // A separator so ("1.2.3.4", "x") and another split of the same bytes cannot coincide.
        hash = (hash ^ 0xFF) * prime;
        foreach (byte b in MemoryMarshal.AsBytes(userAgent))
        {
            hash = (hash ^ b) * prime;
        }

        return hash;
    }
}
