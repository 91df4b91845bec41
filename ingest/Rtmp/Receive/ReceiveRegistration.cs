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

    /// <summary>What the connection reads.</summary>
    public PipeReader Reader => Pipe.Reader;

    /// <summary>From now on the loop may hold this socket's bytes for up to its coalescing window.</summary>
    public void CoalesceFromNowOn() => Coalescing = true;

    /// <summary>Stops reading the socket (after the reader completed; before the socket is closed).</summary>
    public void Dispose() => _loop.Remove(this);
}
