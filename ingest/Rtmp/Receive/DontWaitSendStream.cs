using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Broadcast.Ingest.Rtmp.Receive;

/// <summary>
/// Writes to a socket read by a <see cref="ReceiveLoops"/> loop without ever blocking: the replies are written on the
/// loop's thread, which serves other publishers too, so a peer that stops reading must not hold it for a send timeout.
/// What the server sends a publisher is small (acknowledgements, command replies); a socket whose send buffer is full
/// all the same belongs to a peer that does not read: the write fails as a slow client's (<see cref="RtmpCloseException"/>),
/// closing the connection, and what else the closing session has to send is dropped.
/// </summary>
internal sealed unsafe class DontWaitSendStream(Socket socket) : Stream
{
    private bool _cutOff;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_cutOff) return;
        while (!buffer.IsEmpty)
        {
            nint sent;
            fixed (byte* bytes = buffer)
            {
                sent = LinuxEpoll.Send(socket.SafeHandle, bytes, buffer.Length, LinuxEpoll.MSG_DONTWAIT | LinuxEpoll.MSG_NOSIGNAL);
            }
            if (sent < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == LinuxEpoll.EINTR) continue;
                if (errno == LinuxEpoll.EAGAIN)
                {
                    _cutOff = true;
                    throw new RtmpCloseException($"it does not read what the server sends ({buffer.Length} bytes found its socket's send buffer full)",
                        slowClient: true);
                }
                throw new IOException("Unable to write data to the transport connection.", new SocketException(errno));
            }
            buffer = buffer[(int)sent..];
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled(cancellationToken);
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested ? Task.FromCanceled(cancellationToken) : Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
