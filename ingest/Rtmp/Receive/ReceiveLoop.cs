using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Broadcast.Ingest.Rtmp.Receive;

/// <summary>
/// One of the <see cref="ReceiveLoops"/>: a thread waiting in epoll(7) on its sockets and an eventfd that wakes it for
/// removals. What a socket's epoll entry carries is a number (<see cref="ReceiveRegistration.Token"/>), never a
/// pointer, so an event for a socket forgotten meanwhile names nothing. A socket leaves the set (EPOLL_CTL_DEL) before
/// it is closed, while its descriptor is still its own: its owner disposes the registration first.
/// </summary>
internal sealed class ReceiveLoop : IDisposable
{
    private const int ReadSize = 16 * 1024;
    private const int MaxEvents = 64;

    /// <summary>Reads per socket per wake: a publisher with a backlog leaves the rest for the next turn, after the others.</summary>
    private const int MaxReadsPerTurn = 8;


    private const ulong WakeToken = 0;

    private readonly SafeFileHandle _epoll;
    private readonly SafeFileHandle _wake;
    private readonly int _coalescingMilliseconds;
    private readonly Thread _thread;
    private readonly ConcurrentQueue<ReceiveRegistration> _removals = new();
    /// <summary>
    /// The sockets this loop reads, by the number their epoll entry carries: an event that names one already forgotten
    /// finds nothing here (a number is never reused), where an object handle freed meanwhile would name anything.
    /// </summary>
    private readonly ConcurrentDictionary<ulong, ReceiveRegistration> _live = new();
    private ulong _lastToken;
    private readonly int _index;
    private readonly ILogger _logger;
    private volatile bool _stopping;

    public unsafe ReceiveLoop(int index, int coalescingMilliseconds, ILogger logger)
    {
        _index = index;
        _logger = logger;
        _coalescingMilliseconds = coalescingMilliseconds;
        int epoll = LinuxEpoll.EpollCreate(LinuxEpoll.EPOLL_CLOEXEC);
        if (epoll < 0) throw Failure("epoll_create1");
        _epoll = new SafeFileHandle(epoll, ownsHandle: true);
        int wake = LinuxEpoll.EventFd(0, LinuxEpoll.EFD_CLOEXEC | LinuxEpoll.EFD_NONBLOCK);
        if (wake < 0)
        {
            var error = Failure("eventfd");
            _epoll.Dispose();
            throw error;
        }
        _wake = new SafeFileHandle(wake, ownsHandle: true);
        byte* slot = stackalloc byte[16];
        LinuxEpoll.WriteEvent(new Span<byte>(slot, 16), LinuxEpoll.EPOLLIN, WakeToken);
        if (LinuxEpoll.EpollCtl(_epoll, LinuxEpoll.EPOLL_CTL_ADD, _wake, slot) != 0)
        {
            var error = Failure("epoll_ctl(eventfd)");
            _wake.Dispose();
            _epoll.Dispose();
            throw error;
        }
        // A small stack: the loop reads, parses and hands frames on; packaging's deeper work runs elsewhere.
        _thread = new Thread(Run, maxStackSize: 1024 * 1024) { IsBackground = true, Name = $"rtmp-receive-{index}" };
        _thread.UnsafeStart();
    }

    public int Sockets => _live.Count;

    /// <summary>The loop's thread state and its sockets' (token, watched, removing, coalescing), for a diagnosis.</summary>
    public string Describe() => $"loop {_index} {_thread.ThreadState}" + string.Concat(_live.Values.Select(r =>
        $" [{r.Token} watched={r.Watched} removing={r.Removing} coalescing={r.Coalescing}]"));

    /// <summary>False once the loop ended (disposed, or failed).</summary>
    public bool Running => !_stopping && _thread.IsAlive;

    public ReceiveRegistration Add(Socket socket, int pauseBytes)
    {
        var pipe = Broadcast.Media.BlockingReadPump.InlinePipe(pauseBytes);
        var registration = new ReceiveRegistration(this, socket, pipe, Interlocked.Increment(ref _lastToken));
        _live[registration.Token] = registration;
        lock (registration)
        {
            if (!Watch(registration))
            {
                var error = Failure("epoll_ctl(ADD)");
                _live.TryRemove(registration.Token, out _);
                throw error;
            }
        }
        return registration;
    }

    /// <summary>Called with the registration locked.</summary>
    private unsafe bool Watch(ReceiveRegistration registration)
    {
        byte* slot = stackalloc byte[16];
        LinuxEpoll.WriteEvent(new Span<byte>(slot, 16), LinuxEpoll.EPOLLIN | LinuxEpoll.EPOLLRDHUP, registration.Token);
        try
        {
            if (LinuxEpoll.EpollCtl(_epoll, LinuxEpoll.EPOLL_CTL_ADD, registration.Socket.SafeHandle, slot) != 0) return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        registration.Watched = true;
        return true;
    }

    /// <summary>Called with the registration locked.</summary>
    private unsafe void Unwatch(ReceiveRegistration registration)
    {
        if (!registration.Watched) return;
        registration.Watched = false;
        try
        {
            // Fails with EBADF/ENOENT once the socket is closed: the kernel dropped it from the set then.
            LinuxEpoll.EpollCtl(_epoll, LinuxEpoll.EPOLL_CTL_DEL, registration.Socket.SafeHandle, null);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>From any thread: the loop forgets the socket before its next wait.</summary>
    internal void Remove(ReceiveRegistration registration)
    {
        if (Finish(registration, null)) Wake();
    }

    private unsafe void Wake()
    {
        ulong one = 1;
        try
        {
            LinuxEpoll.Write(_wake, (byte*)&one, sizeof(ulong));
        }
        catch (ObjectDisposedException)
        {
            // the loop has ended
        }
    }

    private unsafe void Run()
    {
        int size = LinuxEpoll.EventSize;
        byte* events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * size));
        Exception? failure = null;
        try
        {
            while (!_stopping)
            {
                int ready = LinuxEpoll.EpollWait(_epoll, events, MaxEvents, -1);
                if (ready < 0)
                {
                    if (Marshal.GetLastPInvokeError() == LinuxEpoll.EINTR) continue;
                    throw Failure("epoll_wait");
                }
                long woke = Environment.TickCount64;
                int served = 0;
                bool allInMedia = true;
                for (int i = 0; i < ready; i++)
                {
                    var slot = new ReadOnlySpan<byte>(events + i * size, size);
                    ulong token = LinuxEpoll.ReadData(slot);
                    if (token == WakeToken)
                    {
                        ulong count;
                        LinuxEpoll.Read(_wake, (byte*)&count, sizeof(ulong));
                        continue;
                    }
                    if (!_live.TryGetValue(token, out var registration) || registration.Removing) continue;
                    served++;
                    try
                    {
                        // A socket still in its command exchange, or a busy one, has the loop look again at once.
                        int bytes = Serve(registration, out bool more);
                        if (!registration.Coalescing | registration.NoteTurn(bytes, more, woke, _coalescingMilliseconds)) allInMedia = false;
                    }
                    catch (Exception ex)
                    {
                        // This connection's fault (its reader threw inside the flush): only it ends.
                        Finish(registration, ex);
                    }
                }
                ForgetRemoved();
                if (allInMedia && served > 0 && _coalescingMilliseconds > 0)
                {
                    long rest = _coalescingMilliseconds - (Environment.TickCount64 - woke);
                    if (rest > 0) Thread.Sleep((int)rest);
                }
            }
        }
        catch (Exception ex)
        {
            failure = ex;
            _stopping = true;
            RtmpLog.ReceiveLoopFailed(_logger, ex, _index, Sockets);
        }
        finally
        {
            NativeMemory.Free(events);
            // What the loop still reads ends with it: each reader sees the failure, or at shutdown the end.
            foreach (var registration in _live.Values) Finish(registration, failure is null ? null : new IOException("the receive loop failed", failure));
            ForgetRemoved();
            _wake.Dispose();
            _epoll.Dispose();
        }
    }

    /// <summary>Reads what the socket has into its pipe, the parser running inside each flush: the bytes read; <paramref name="more"/> when it left some for the next turn.</summary>
    private unsafe int Serve(ReceiveRegistration registration, out bool more)
    {
        more = false;
        PipeWriter writer = registration.Pipe.Writer;
        int total = 0;
        for (int reads = 0; reads < MaxReadsPerTurn; reads++)
        {
            Memory<byte> memory = writer.GetMemory(ReadSize);
            nint read;
            try
            {
                fixed (byte* buffer = memory.Span)
                {
                    read = LinuxEpoll.Recv(registration.Socket.SafeHandle, buffer, memory.Length, LinuxEpoll.MSG_DONTWAIT);
                }
            }
            catch (ObjectDisposedException)
            {
                Finish(registration, null);
                return total;
            }
            if (read < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == LinuxEpoll.EAGAIN) return total;
                if (errno == LinuxEpoll.EINTR) continue;
                Finish(registration, new IOException("Unable to read data from the transport connection.", new SocketException(errno)));
                return total;
            }
            if (read == 0)
            {
                Finish(registration, null);
                return total;
            }
            writer.Advance((int)read);
            // With the inline reader scheduler the parser runs inside this flush, on this thread.
            ValueTask<FlushResult> flush = writer.FlushAsync();
            if (!flush.IsCompletedSuccessfully)
            {
                Pause(registration, flush);
                return total;
            }
            if (flush.Result.IsCompleted || flush.Result.IsCanceled)
            {
                Finish(registration, null);
                return total;
            }
            total += (int)read;
            if (read < memory.Length) return total; // drained
        }
        more = true;
        return total;
    }

    /// <summary>
    /// The reader is behind (it awaits something else, the publish authorizer): stop watching the socket, so the loop
    /// neither reads it nor spins on it, until the pipe drains below its resume mark.
    /// </summary>
    private void Pause(ReceiveRegistration registration, ValueTask<FlushResult> flush)
    {
        lock (registration) Unwatch(registration);
        _ = ResumeWhenDrainedAsync(registration, flush);
    }

    private async Task ResumeWhenDrainedAsync(ReceiveRegistration registration, ValueTask<FlushResult> flush)
    {
        FlushResult result;
        try
        {
            result = await flush.ConfigureAwait(false);
        }
        catch (Exception)
        {
            Remove(registration);
            return;
        }
        if (result.IsCompleted || result.IsCanceled)
        {
            Remove(registration);
            return;
        }
        bool watched;
        lock (registration)
        {
            if (registration.Removing) return;
            watched = Watch(registration);
        }
        if (!watched) Finish(registration, new IOException("the connection closed while its reader caught up"));
        Wake();
    }

    /// <summary>
    /// The connection ended, failed or was removed: the socket leaves the epoll set now, and at its next turn the loop
    /// forgets it and its reader sees the end or <paramref name="error"/>. False when it was already on its way out.
    /// </summary>
    private bool Finish(ReceiveRegistration registration, Exception? error)
    {
        lock (registration)
        {
            if (registration.Removing) return false;
            registration.Removing = true;
            registration.Failure = error;
            Unwatch(registration);
        }
        _removals.Enqueue(registration);
        return true;
    }

    /// <summary>On the loop's thread, the pipe's writer's: the reader sees the end or the failure.</summary>
    private void ForgetRemoved()
    {
        while (_removals.TryDequeue(out var registration))
        {
            registration.Pipe.Writer.Complete(registration.Failure);
            _live.TryRemove(registration.Token, out _);
        }
    }

    private static IOException Failure(string call) =>
        new($"{call} failed", new SocketException(Marshal.GetLastPInvokeError()));

    public void Dispose()
    {
        if (_stopping) return;
        _stopping = true;
        Wake();
        // From the loop's own thread (a reader's continuation disposing the server), the loop ends after this turn.
        if (Thread.CurrentThread != _thread) _thread.Join();
    }
}
