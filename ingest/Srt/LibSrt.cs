using System.Net;
using System.Runtime.InteropServices;

namespace Broadcast.Ingest.Srt;

/// <summary>
/// The libsrt C API (Haivision SRT 1.5, srt.h), only what the listener uses, bound through P/Invoke. The library is
/// Debian's libsrt1.5-openssl or libsrt1.5-gnutls (ffmpeg's dependency); <see cref="TryLoad"/> finds either. Thin on
/// purpose: no policy here, only calls, constants and the sockaddr conversions.
/// </summary>
internal static unsafe partial class LibSrt
{
    private const string Library = "srt";

    /// <summary>File names tried in order: Debian's two builds, then a self-built library.</summary>
    internal static readonly string[] LibraryNames = ["libsrt-openssl.so.1.5", "libsrt-gnutls.so.1.5", "libsrt.so.1.5", "libsrt.so"];

    public const int Error = -1;

    /// <summary>syslog's LOG_CRIT, libsrt's log levels.</summary>
    private const int LogCritical = 2;
    public const int InvalidSocket = -1;

    // SRT_SOCKOPT (srt.h)
    public const int SRTO_SNDSYN = 1;
    public const int SRTO_RCVSYN = 2;
    public const int SRTO_LATENCY = 23;
    public const int SRTO_PASSPHRASE = 26;
    public const int SRTO_PBKEYLEN = 27;
    public const int SRTO_STREAMID = 46;
    public const int SRTO_PEERIDLETIMEO = 55;

    // SRT_EPOLL_OPT
    public const int SRT_EPOLL_IN = 0x1;
    public const int SRT_EPOLL_ERR = 0x8;

    /// <summary>srt_epoll_set flag: waiting on an epoll with no sockets is not an error.</summary>
    public const int SRT_EPOLL_ENABLE_EMPTY = 0x1;

    /// <summary>SRT_EASYNCRCV (MJ_AGAIN 6, MN_RDAVAIL 2): nothing to read now on a non-blocking socket.</summary>
    public const int SRT_EASYNCRCV = 6002;

    /// <summary>
    /// Rejection reasons a listener callback sets (srt_setrejectreason; SRT access control: 1000 + an HTTP status).
    /// The caller sees them: ffmpeg prints "Connection setup failure: connection rejected" with the code.
    /// </summary>
    public const int SRT_REJX_BAD_REQUEST = 1400;
    public const int SRT_REJX_UNAUTHORIZED = 1401;
    public const int SRT_REJX_FORBIDDEN = 1403;
    public const int SRT_REJX_BAD_MODE = 1405;
    public const int SRT_REJX_CONFLICT = 1409;
    public const int SRT_REJX_TOO_MANY = 1429;
    public const int SRT_REJX_UNAVAILABLE = 1503;

    /// <summary>SRT_EPOLL_EVENT: one socket and what it is ready for.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct EpollEvent
    {
        public int Socket;
        public int Events;
    }

    private static readonly Lazy<string?> Loaded = new(Load);

    /// <summary>Loads libsrt and calls srt_startup once; null on success, else why not.</summary>
    public static string? TryLoad() => Loaded.Value;

    private static string? Load()
    {
        nint handle = 0;
        foreach (var name in LibraryNames)
            if (NativeLibrary.TryLoad(name, out handle)) break;
        if (handle == 0)
            return $"libsrt not found (tried {string.Join(", ", LibraryNames)}): install Debian's libsrt1.5-openssl or libsrt1.5-gnutls";
        NativeLibrary.SetDllImportResolver(typeof(LibSrt).Assembly, (name, _, _) => name == Library ? handle : 0);
        if (srt_startup() < 0) return "srt_startup failed: " + LastError();
        srt_setloglevel(LogCritical); // libsrt writes to stderr; what matters to us it reports through return codes, and we log that
        return null;
    }

    public static string LastError() => Marshal.PtrToStringUTF8(srt_getlasterror_str()) ?? "unknown SRT error";

    [LibraryImport(Library)] private static partial int srt_startup();
    [LibraryImport(Library)] private static partial nint srt_getlasterror_str();
    [LibraryImport(Library)] private static partial void srt_setloglevel(int level);
    [LibraryImport(Library)] public static partial int srt_getlasterror(nint errnoLocation);
    [LibraryImport(Library)] public static partial int srt_create_socket();
    [LibraryImport(Library)] public static partial int srt_bind(int socket, byte* address, int addressLength);
    [LibraryImport(Library)] public static partial int srt_listen(int socket, int backlog);
    [LibraryImport(Library)] public static partial int srt_accept(int socket, byte* address, int* addressLength);
    [LibraryImport(Library)] public static partial int srt_close(int socket);
    [LibraryImport(Library)] public static partial int srt_getsockname(int socket, byte* address, int* addressLength);
    [LibraryImport(Library)] public static partial int srt_setsockflag(int socket, int option, void* value, int length);
    [LibraryImport(Library)] public static partial int srt_getsockflag(int socket, int option, void* value, int* length);
    [LibraryImport(Library)] public static partial int srt_recvmsg(int socket, byte* buffer, int length);
    [LibraryImport(Library)] public static partial int srt_setrejectreason(int socket, int reason);
    [LibraryImport(Library)] public static partial int srt_listen_callback(int socket,
        delegate* unmanaged<nint, int, int, byte*, byte*, int> callback, nint opaque);
    [LibraryImport(Library)] public static partial int srt_epoll_create();
    [LibraryImport(Library)] public static partial int srt_epoll_set(int epoll, int flags);
    [LibraryImport(Library)] public static partial int srt_epoll_add_usock(int epoll, int socket, int* events);
    [LibraryImport(Library)] public static partial int srt_epoll_remove_usock(int epoll, int socket);
    [LibraryImport(Library)] public static partial int srt_epoll_uwait(int epoll, EpollEvent* events, int count, long timeoutMs);
    [LibraryImport(Library)] public static partial int srt_epoll_release(int epoll);

    public static int SetInt(int socket, int option, int value) => srt_setsockflag(socket, option, &value, sizeof(int));

    public static int SetString(int socket, int option, string value)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(value);
        fixed (byte* p = bytes) return srt_setsockflag(socket, option, p, bytes.Length);
    }

    public static string? GetString(int socket, int option)
    {
        byte* buffer = stackalloc byte[SrtStreamId.MaxLength + 1];
        int length = SrtStreamId.MaxLength + 1;
        if (srt_getsockflag(socket, option, buffer, &length) < 0) return null;
        return System.Text.Encoding.UTF8.GetString(buffer, Math.Clamp(length, 0, SrtStreamId.MaxLength));
    }

    public const int SockaddrCapacity = 128;

    /// <summary>struct sockaddr_in / sockaddr_in6 (Linux layout: 16-bit family in host order, port in network order).</summary>
    public static int WriteSockaddr(IPEndPoint endPoint, Span<byte> destination)
    {
        destination[..SockaddrCapacity].Clear();
        var address = endPoint.Address.GetAddressBytes();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)endPoint.Port);
        if (endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            BitConverter.TryWriteBytes(destination, (ushort)2); // AF_INET
            address.CopyTo(destination[4..]);
            return 16;
        }
        BitConverter.TryWriteBytes(destination, (ushort)10); // AF_INET6
        address.CopyTo(destination[8..]);
        return 28;
    }

    /// <summary>Reads the family first, then only the bytes that family's struct has.</summary>
    public static IPEndPoint? ReadSockaddr(byte* pointer)
    {
        if (pointer is null) return null;
        ushort family = *(ushort*)pointer;
        return ReadSockaddr(new ReadOnlySpan<byte>(pointer, family == 10 ? 28 : 16));
    }

    public static IPEndPoint? ReadSockaddr(ReadOnlySpan<byte> sockaddr)
    {
        if (sockaddr.Length < 16) return null;
        int port = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(sockaddr[2..]);
        return BitConverter.ToUInt16(sockaddr) switch
        {
            2 => new IPEndPoint(new IPAddress(sockaddr.Slice(4, 4)), port),
            10 when sockaddr.Length >= 24 => new IPEndPoint(new IPAddress(sockaddr.Slice(8, 16)), port),
            _ => null,
        };
    }
}
