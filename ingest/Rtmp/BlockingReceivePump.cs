using System.IO.Pipelines;
using System.Net.Sockets;

namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// Reads one connection's bytes on a thread of its own with blocking reads, into a pipe whose reader runs inline on
/// that thread. A publisher sends a chunk every few milliseconds; with async socket reads each chunk woke the socket
/// engine's epoll thread, then a thread-pool worker to parse it, then often a second worker the pool added for the
/// backlog. Here the kernel wakes exactly one thread, which reads, parses and hands the frames on before it sleeps
/// again (measured in bench/RESULTS.md). The connection's own await points are unchanged: when the parser waits for
/// something else (the publish authorizer), the pipe fills to <see cref="PauseBytes"/> and this thread blocks until
/// the parser catches up, so memory per connection stays bounded.
/// </summary>
internal static class BlockingReceivePump
{
    private const int ReadSize = 16 * 1024;
    private const int PauseBytes = 1024 * 1024;

    /// <summary>
    /// Starts the pump and returns the reader side. The pump ends when the stream ends or fails (the reader then sees
    /// the end or the error) or when the reader completes; disposing the stream unblocks a pending read.
    /// </summary>
    public static PipeReader Start(Stream source, string threadName)
    {
        var pipe = new Pipe(new PipeOptions(
            readerScheduler: PipeScheduler.Inline,
            writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: PauseBytes,
            resumeWriterThreshold: PauseBytes / 2,
            minimumSegmentSize: ReadSize,
            useSynchronizationContext: false));
        // A small stack: the thread only reads, parses and hands frames over; deep work happens elsewhere.
        var thread = new Thread(() => Run(source, pipe.Writer), maxStackSize: 512 * 1024) { IsBackground = true, Name = threadName };
        thread.UnsafeStart();
        return pipe.Reader;
    }

    /// <summary>Bytes a coalescing socket waits for before its reader wakes (SO_RCVLOWAT).</summary>
    public const int CoalesceBytes = 16 * 1024;

    /// <summary>The longest a coalescing socket holds fewer bytes before they are read anyway (SO_RCVTIMEO).</summary>
    public const int CoalesceMilliseconds = 20;

    /// <summary>
    /// Lets a blocking read wake only once <see cref="CoalesceBytes"/> have arrived, or after
    /// <see cref="CoalesceMilliseconds"/> with whatever has (Linux tcp_recvmsg returns the bytes it has when the
    /// timeout ends; none at all is a timeout the pump ignores). An encoder sends a chunk of at most a few KB per
    /// write, and each woke the reader: at 2.5 Mb/s that is over a hundred wake-ups a second per publisher, and with
    /// this about fifty, for at most 20 ms more delay on the way in. Only for a plain socket read through
    /// <see cref="NetworkStream"/> (a TLS stream cannot resume after a failed read), and only once media flows:
    /// the command exchange before a publish stays at one round trip per message.
    /// </summary>
    public static void CoalesceReceives(Socket socket)
    {
        socket.ReceiveTimeout = CoalesceMilliseconds;
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReceiveLowWater, CoalesceBytes);
    }

    private static void Run(Stream source, PipeWriter writer)
    {
        Exception? error = null;
        try
        {
            while (true)
            {
                Memory<byte> memory = writer.GetMemory(ReadSize);
                int read;
                try
                {
                    read = source.Read(memory.Span);
                }
                catch (IOException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut })
                {
                    // A receive timeout (see CoalesceReceives) with nothing to read: keep waiting.
                    continue;
                }
                if (read == 0) break;
                writer.Advance(read);
                // With the inline reader scheduler the parser runs inside this flush, on this thread.
                ValueTask<FlushResult> flush = writer.FlushAsync();
                FlushResult result = flush.IsCompletedSuccessfully ? flush.Result : flush.AsTask().GetAwaiter().GetResult();
                if (result.IsCompleted || result.IsCanceled) break;
            }
        }
        catch (Exception ex)
        {
            error = ex;
        }
        writer.Complete(error);
    }
}
