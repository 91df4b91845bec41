using System.Buffers;
using System.IO.Pipelines;
using Broadcast.Media;
using Broadcast.TestSupport;

namespace Broadcast.Media.Tests;

public class BlockingReadPumpTests
{
    [Fact]
    public async Task Every_byte_arrives_in_order_and_the_end_of_the_stream_completes_the_reader()
    {
        byte[] data = Enumerable.Range(0, 3 * 1024 * 1024).Select(i => (byte)(i * 7)).ToArray();
        var reader = BlockingReadPump.Start(new MemoryStream(data), "pump-test");
        var received = new MemoryStream();
        while (true)
        {
            var result = await reader.ReadAsync();
            foreach (var segment in result.Buffer) received.Write(segment.Span);
            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted) break;
        }
        await reader.CompleteAsync();
        // Larger than the pause threshold: the pump waited for the reader at least once and went on.
        Assert.Equal(data, received.ToArray());
    }

    [Fact]
    public async Task A_read_error_reaches_the_reader()
    {
        var reader = BlockingReadPump.Start(new FailingStream(), "pump-test");
        // The connection was reset: the reader fails with the socket's error (bytes still unread may go with it, as
        // with a reset socket), it never sees a clean end.
        await Assert.ThrowsAsync<IOException>(async () =>
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                Assert.False(result.IsCompleted);
                reader.AdvanceTo(result.Buffer.End);
            }
        });
    }

    [Fact]
    public async Task A_reader_that_completes_stops_the_pump()
    {
        var source = new EndlessStream();
        var reader = BlockingReadPump.Start(source, "pump-test");
        var result = await reader.ReadAsync();
        Assert.True(result.Buffer.Length > 0);
        reader.AdvanceTo(result.Buffer.End);
        await reader.CompleteAsync();
        long readsAtCompletion = source.Reads;
        // The pump's next flush sees the completed reader and stops: at most the read already under way follows (a
        // pump that went on would read every millisecond). Counting, not timing, so a descheduled pump cannot fail it.
        await WaitFor.ConditionAsync(() => source.Stopped, TimeSpan.FromSeconds(30), "the pump to stop reading", () => $"{source.Reads} reads");
        Assert.InRange(source.Reads, readsAtCompletion, readsAtCompletion + 1);
    }

    private sealed class FailingStream : ReadOnlyStream
    {
        private int _calls;

        public override int Read(Span<byte> buffer)
        {
            if (_calls++ == 0)
            {
                buffer[..4].Fill(1);
                return 4;
            }
            throw new IOException("connection reset");
        }

    }

    /// <summary>Always has bytes; notes when the pump stops asking (its reads stop growing).</summary>
    private sealed class EndlessStream : ReadOnlyStream
    {
        private long _reads;
        private long _lastSeen = -1;

        public long Reads => Interlocked.Read(ref _reads);

        public bool Stopped
        {
            get
            {
                long now = Reads;
                bool same = now == _lastSeen;
                _lastSeen = now;
                Thread.Sleep(50);
                return same && now == Reads;
            }
        }

        public override int Read(Span<byte> buffer)
        {
            Interlocked.Increment(ref _reads);
            int n = Math.Min(buffer.Length, 1024);
            buffer[..n].Fill(2);
            Thread.Sleep(1);
            return n;
        }

    }

    /// <summary>A source the pump reads: only Read(Span) differs between the test streams.</summary>
    private abstract class ReadOnlyStream : Stream
    {
        public abstract override int Read(Span<byte> buffer);
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
