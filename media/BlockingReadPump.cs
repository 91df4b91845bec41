using System.IO.Pipelines;

namespace Broadcast.Media;

/// <summary>
/// Reads one connection's bytes (an RTMPS publisher, a transcoder rung) on a thread of its own with blocking reads,
/// into a pipe whose reader runs inline on that thread. A publisher sends a chunk every few milliseconds; with async
/// socket reads each chunk woke the socket engine's epoll thread, then a thread-pool worker to parse it, then often a
/// second worker the pool added for the backlog. Here the kernel wakes exactly one thread, which reads, parses and
/// hands the frames on before it sleeps again (measured in bench/RESULTS.md). The reader's own await points are
/// unchanged: when it waits for something else (the publish authorizer), the pipe fills to <see cref="PauseBytes"/>
/// and this thread blocks until the reader catches up, so memory per connection stays bounded.
/// </summary>
public static class BlockingReadPump
{
    private const int ReadSize = 16 * 1024;
    private const int PauseBytes = 1024 * 1024;

    /// <summary>
    /// Starts the pump and returns the reader side. The pump ends when the stream ends or fails (the reader then sees
    /// the end or the error) or when the reader completes; disposing the stream unblocks a pending read.
    /// </summary>
    /// <param name="source">Read with blocking <see cref="Stream.Read(Span{byte})"/> calls; disposing it ends the pump.</param>
    /// <param name="threadName">For debuggers and profilers.</param>
    /// <param name="pauseBytes">Unconsumed bytes at which the pump stops reading (0: the default, 1 MiB); a read may add up to 16 KiB more.</param>
    public static PipeReader Start(Stream source, string threadName, int pauseBytes = 0)
    {
        var pipe = InlinePipe(pauseBytes <= 0 ? PauseBytes : pauseBytes);
        // A small stack: the thread only reads, parses and hands frames over; deep work happens elsewhere.
        var thread = new Thread(() => Run(source, pipe.Writer), maxStackSize: 512 * 1024) { IsBackground = true, Name = threadName };
        thread.UnsafeStart();
        return pipe.Reader;
    }

    /// <summary>
    /// A connection's input pipe as the pump and the RTMP receive loops make it: the reader runs inline inside the
    /// writer's flush, on the reading thread, and the writer pauses at <paramref name="pauseBytes"/> unread (resuming at half).
    /// </summary>
    public static Pipe InlinePipe(int pauseBytes) => new(new PipeOptions(
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: pauseBytes,
        resumeWriterThreshold: pauseBytes / 2,
        minimumSegmentSize: ReadSize,
        useSynchronizationContext: false));

    private static void Run(Stream source, PipeWriter writer)
    {
        Exception? error = null;
        try
        {
            while (true)
            {
                Memory<byte> memory = writer.GetMemory(ReadSize);
                int read = source.Read(memory.Span);
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
