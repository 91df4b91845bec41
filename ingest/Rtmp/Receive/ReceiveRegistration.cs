using System.IO.Pipelines;
using System.Net.Sockets;

namespace Broadcast.Ingest.Rtmp.Receive;

/// <summary>One socket read by a <see cref="ReceiveLoops"/> loop: its pipe's reader, and the switch to coalescing once media flows.</summary>
internal sealed class ReceiveRegistration : IDisposable
{
    private readonly ReceiveLoop _loop;

    internal ReceiveRegistration(ReceiveLoop loop, Socket socket, Pipe pipe, ulong token)
    {
        _loop = loop;
        Socket = socket;
        Pipe = pipe;
        Token = token;
    }

    /// <summary>What the loop's epoll entry carries for this socket: unique in the loop's life, never 0 (the loop's wake-up).</summary>
    internal ulong Token { get; }

    internal Socket Socket { get; }

    internal Pipe Pipe { get; }

    /// <summary>In the epoll set (guarded by the registration's lock).</summary>
    internal bool Watched { get; set; }

    /// <summary>On its way out (guarded by the registration's lock); the loop skips its events.</summary>
    internal volatile bool Removing;

    internal Exception? Failure { get; set; }

    /// <summary>Media flows: the loop may wait out its coalescing window after a turn that served only such sockets.</summary>
    internal volatile bool Coalescing;

    /// <summary>
    /// What a socket may bring in one coalescing window for the loop still to wait windows out for it. A socket's receive
    /// buffer starts at about 128 KB (tcp_rmem), about half of it TCP window: a publisher that brings a quarter of that
    /// per window (above about 13 Mb/s at 20 ms) would soon be slowed by TCP while the loop waits, so while it does the
    /// loop looks again at once after serving it.
    /// </summary>
    internal const int BusyWindowBytes = 32 * 1024;

    private long _windowStart;
    private int _windowBytes;
    private bool _busy;

    /// <summary>
    /// The loop's thread only: counts a turn's bytes into the socket's current window and says whether the socket is busy
    /// (its last whole window, or this one so far, brought <see cref="BusyWindowBytes"/>, or it left bytes unread).
    /// </summary>
    internal bool NoteTurn(int bytes, bool more, long nowMilliseconds, int windowMilliseconds)
    {
        _windowBytes = (int)Math.Min(int.MaxValue, (long)_windowBytes + bytes);
        if (nowMilliseconds - _windowStart >= windowMilliseconds)
        {
            _busy = _windowBytes >= BusyWindowBytes;
            _windowBytes = 0;
            _windowStart = nowMilliseconds;
        }
        return more || _busy || _windowBytes >= BusyWindowBytes;
    }

    /// <summary>What the connection reads.</summary>
    public PipeReader Reader => Pipe.Reader;

    /// <summary>From now on the loop may hold this socket's bytes for up to its coalescing window.</summary>
    public void CoalesceFromNowOn() => Coalescing = true;

    /// <summary>Stops reading the socket (after the reader completed; before the socket is closed).</summary>
    public void Dispose() => _loop.Remove(this);
}
