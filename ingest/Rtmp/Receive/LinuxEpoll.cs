using System.Runtime.InteropServices;

namespace Broadcast.Ingest.Rtmp.Receive;

/// <summary>
/// The few Linux calls a receive loop needs (epoll(7), eventfd(2), recv(2) and send(2) with MSG_DONTWAIT, and the
/// ioctl(2) that tells what a socket has not sent yet), bound
/// through P/Invoke to libc. Thin on purpose: calls, constants and the layout of <c>struct epoll_event</c>, no policy.
/// Sockets pass as their <see cref="SafeHandle"/>, so a socket disposed on another thread cannot close (and its number
/// cannot be reused by the next accepted connection) while a call on it is under way; one disposed before the call
/// fails it with <see cref="ObjectDisposedException"/> instead of reaching whatever file has that number now. The epoll
/// and eventfd descriptors are held the same way (<see cref="Microsoft.Win32.SafeHandles.SafeFileHandle"/>).
/// </summary>
internal static unsafe partial class LinuxEpoll
{
    private const string Libc = "libc";

    public const int EPOLL_CLOEXEC = 0x80000;
    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const uint EPOLLIN = 0x001;
    public const uint EPOLLERR = 0x008;
    public const uint EPOLLHUP = 0x010;
    public const uint EPOLLRDHUP = 0x2000;

    public const int EFD_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;

    public const int MSG_DONTWAIT = 0x40;
    public const int MSG_NOSIGNAL = 0x4000;

    /// <summary>ioctl(2) on a TCP socket: the bytes in its send queue not sent yet (linux/sockios.h).</summary>
    public const nuint SIOCOUTQNSD = 0x894B;

    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int EBADF = 9;
    public const int ENOENT = 2;

    /// <summary>
    /// sizeof(struct epoll_event): <c>__EPOLL_PACKED</c> on x86-64 only (sys/epoll.h), so 12 bytes there (the 64-bit data
    /// right after the 32-bit events) and 16 elsewhere.
    /// </summary>
    public static readonly int EventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    private static readonly int DataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    public static bool IsSupported => OperatingSystem.IsLinux();

    public static void WriteEvent(Span<byte> slot, uint events, ulong data)
    {
        slot[..EventSize].Clear();
        MemoryMarshal.Write(slot, events);
        MemoryMarshal.Write(slot[DataOffset..], data);
    }

    public static uint ReadEvents(ReadOnlySpan<byte> slot) => MemoryMarshal.Read<uint>(slot);

    public static ulong ReadData(ReadOnlySpan<byte> slot) => MemoryMarshal.Read<ulong>(slot[DataOffset..]);

    [LibraryImport(Libc, EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int EpollCreate(int flags);

    [LibraryImport(Libc, EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int EpollCtl(SafeHandle epfd, int op, SafeHandle fd, byte* evt);

    [LibraryImport(Libc, EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int EpollWait(SafeHandle epfd, byte* events, int maxEvents, int timeoutMilliseconds);

    [LibraryImport(Libc, EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initval, int flags);

    [LibraryImport(Libc, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(SafeHandle fd, byte* buffer, nint count);

    [LibraryImport(Libc, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(SafeHandle fd, byte* buffer, nint count);

    [LibraryImport(Libc, EntryPoint = "recv", SetLastError = true)]
    public static partial nint Recv(SafeHandle socket, byte* buffer, nint length, int flags);

    [LibraryImport(Libc, EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(SafeHandle socket, byte* buffer, nint length, int flags);

    [LibraryImport(Libc, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int IoctlInt(SafeHandle fd, nuint request, int* value);

    /// <summary>The bytes <paramref name="socket"/> holds not sent yet (its peer's window is closed, say); -1 when unknown.</summary>
    public static int UnsentBytes(System.Net.Sockets.Socket socket)
    {
        if (!IsSupported) return -1;
        int value;
        try
        {
            return IoctlInt(socket.SafeHandle, SIOCOUTQNSD, &value) == 0 ? value : -1;
        }
        catch (ObjectDisposedException)
        {
            return -1;
        }
    }
}
