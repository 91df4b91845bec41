using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Ingest.Rtmp.Receive;

/// <summary>
/// Reads many publishers' sockets on a few threads, as an event-driven server does: one loop per core (by default),
/// each waiting in epoll(7) on the sockets it was given and reading whatever is ready into each connection's pipe,
/// whose reader (the RTMP parser) runs inline on the loop's thread. A thread of its own per publisher
/// (<see cref="Broadcast.Media.BlockingReadPump"/>) woke once per read and cost a context switch each time; here one wake
/// serves every socket that became readable meanwhile. With a coalescing window (<c>Rtmp:ReceiveCoalescingMilliseconds</c>)
/// a loop that served only sockets in media waits out the rest of the window before it waits again, so it wakes at most
/// that often whatever the number of publishers; a socket still in its command exchange (handshake, connect, publish)
/// skips the wait, so a publish costs no more round trips than before, and so does a busy one (32 KB or more a window),
/// which TCP would otherwise slow down once its receive buffer filled.
/// Linux only; elsewhere, and for RTMPS (whose TLS stream reads through <c>SslStream</c>), the thread per connection stays.
/// </summary>
internal sealed class ReceiveLoops : IDisposable
{
    /// <summary>The most loop threads an operator may set (<c>Rtmp:ReceiveThreads</c>).</summary>
    public const int MaxThreads = 64;

    /// <summary>
    /// <c>Rtmp:ReceiveCoalescingMilliseconds</c> by default: at most 20 ms more on the way in, which the interactive tier's
    /// WHEP and LL-HLS viewers of an RTMP publish pay, for a loop that wakes at most fifty times a second.
    /// </summary>
    public const int DefaultCoalescingMilliseconds = 20;

    /// <summary>The longest window an operator may set: beyond it the delay reaches what low-latency viewers notice.</summary>
    public const int MaxCoalescingMilliseconds = 200;

    private readonly ReceiveLoop[] _loops;
    private int _next;

    public ReceiveLoops(int loops, int coalescingMilliseconds, ILogger? logger = null)
    {
        if (!LinuxEpoll.IsSupported) throw new PlatformNotSupportedException("receive loops need Linux epoll");
        _loops = new ReceiveLoop[Math.Max(1, loops)];
        for (int i = 0; i < _loops.Length; i++) _loops[i] = new ReceiveLoop(i, coalescingMilliseconds, logger ?? NullLogger.Instance);
    }

    /// <summary>How many loop threads read sockets.</summary>
    public int Count => _loops.Length;

    /// <summary>Sockets the loops read now (registered and not yet forgotten).</summary>
    public int Sockets => _loops.Sum(loop => loop.Sockets);

    /// <summary>
    /// Starts reading <paramref name="socket"/> on the loop with the fewest sockets. The reader sees the connection's end
    /// (or its error) as the pipe's completion; complete the reader, then dispose the registration, before closing the socket.
    /// </summary>
    /// <param name="pauseBytes">Unread bytes at which the loop stops reading this socket until the reader catches up.</param>
    public ReceiveRegistration Register(Socket socket, int pauseBytes)
    {
        ReceiveLoop? loop = null;
        int start = (int)((uint)Interlocked.Increment(ref _next) % (uint)_loops.Length);
        for (int i = 0; i < _loops.Length; i++)
        {
            var candidate = _loops[(start + i) % _loops.Length];
            if (candidate.Running && (loop is null || candidate.Sockets < loop.Sockets)) loop = candidate;
        }
        if (loop is null) throw new IOException("no RTMP receive loop is running");
        return loop.Add(socket, pauseBytes);
    }

    /// <summary>Each loop and its sockets' states, for a diagnosis.</summary>
    public string Describe() => string.Join("; ", _loops.Select(loop => loop.Describe()));

    public void Dispose()
    {
        foreach (var loop in _loops) loop.Dispose();
    }
}
