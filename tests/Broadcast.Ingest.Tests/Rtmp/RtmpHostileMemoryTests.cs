using System.Net;
using Broadcast.Ingest.Rtmp;
using Broadcast.Media;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Broadcast.Ingest.Tests.Rtmp;

/// <summary>A short real clip for the publisher that runs beside each attack, made once, with its video frame count.</summary>
public sealed class HostileClipFixture : IAsyncLifetime
{
    private readonly TempDirectory _dir = new("rtmp-hostile");

    public string Clip => Path.Combine(_dir.Path, "clip.flv");

    public long VideoFrames { get; private set; }

    public async Task InitializeAsync()
    {
        var (code, output) = await FfmpegPublishTests.RunAsync("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
            "-t", "5", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv", Clip);
        Assert.True(code == 0, output);
        (code, output) = await FfmpegPublishTests.RunAsync("ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0",
            "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", Clip);
        Assert.True(code == 0, output);
        VideoFrames = long.Parse(output.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public Task DisposeAsync()
    {
        _dir.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// Hostile RTMP clients against the real server on 127.0.0.1 (the patterns of <see cref="HostileRtmpClient"/>, from
/// 127.0.0.2), each beside an ffmpeg publish of a real clip from 127.0.0.1. Every test checks the server's own
/// accounting (<see cref="RtmpServer.Memory"/>, each connection's <see cref="RtmpConnectionInfo.MemoryBytes"/>)
/// against the budgets while the attack runs, that it falls back to the publisher's share once the attackers are gone
/// and to zero at the end, the logged reason each attacker was closed with, and that the publisher delivered every
/// frame of its clip.
/// </summary>
[Trait("Kind", "Component")]
public sealed class RtmpHostileMemoryTests(HostileClipFixture clip, ITestOutputHelper output) : IClassFixture<HostileClipFixture>
{
    private const int ProtocolErrorEvent = 1004;
    private const int MemoryBudgetEvent = 1045;
    private const long BeforePublish = 256 * 1024; // Rtmp:MemoryBudgetBeforePublish's default
    private static readonly IPAddress Attacker = IPAddress.Parse("127.0.0.2");

    /// <summary>What the attack left to see: the outcomes and the most the accounting showed while it ran.</summary>
    private sealed record AttackResult(HostileRtmpOutcome[] Outcomes, long MaxAttackerBytes, long MaxHeldBytes, long PeakHeldBytes, int AttackersSeenHolding);

    /// <summary>Polls the server's accounting while an attack runs (the peak counter catches what polling misses).</summary>
    private sealed class MemoryWatch : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private readonly HashSet<long> _holding = [];

        public MemoryWatch(RtmpTestHost host)
        {
            _loop = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    MaxHeld = Math.Max(MaxHeld, host.Server.Memory.HeldBytes);
                    foreach (var c in host.Connections.Snapshot())
                    {
                        if (c.State == RtmpConnectionState.Publishing) continue;
                        MaxAttacker = Math.Max(MaxAttacker, c.MemoryBytes);
                        if (c.MemoryBytes > 0) _holding.Add(c.Id);
                    }
                    await Task.Delay(2);
                }
            });
        }

        public long MaxHeld { get; private set; }

        public long MaxAttacker { get; private set; }

        public int Holding => _holding.Count;

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            await _loop;
            _stop.Dispose();
        }
    }

    private void DumpLog(RtmpTestHost host)
    {
        foreach (var entry in host.Logs.Entries.Where(e => e.EventId is not (1001 or 1003 or 1008 or 1009)).TakeLast(60))
            output.WriteLine($"{entry.EventId} {entry.Level}: {entry.Message}");
    }

    /// <summary>
    /// Starts ffmpeg publishing the clip (-re), runs <paramref name="attack"/> once the stream is live, and checks the
    /// accounting on the way: attackers gone, only the publisher holds memory; publisher done, nothing does.
    /// </summary>
    private async Task<AttackResult> AttackBesidePublishAsync(RtmpTestHost host, Func<IPEndPoint, Task<HostileRtmpOutcome[]>> attack, long bytesPerAttacker = BeforePublish)
    {
        LiveStream? published = null;
        host.Registry.Published += s => published = s;
        var publisher = FfmpegPublishTests.RunAsync("ffmpeg", "-hide_banner", "-loglevel", "warning", "-re", "-i", clip.Clip,
            "-c", "copy", "-f", "flv", $"rtmp://127.0.0.1:{host.EndPoint.Port}/live/{TestPublishAuthorizer.GoodKey}");
        Assert.True(await RtmpTestHost.EventuallyAsync(() => published is not null), "ffmpeg did not start publishing");

        var watch = new MemoryWatch(host);
        HostileRtmpOutcome[] outcomes;
        try
        {
            outcomes = await attack(host.EndPoint);
            // Every attacker socket is closed now: the server lets go of them, and what stays is the publisher's.
            Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Connections.Snapshot().All(c => c.State == RtmpConnectionState.Publishing)),
                "attacker connections still open");
        }
        finally
        {
            await watch.DisposeAsync();
        }
        long maxHeld = watch.MaxHeld, maxAttacker = watch.MaxAttacker;
        int holding = watch.Holding;
        Assert.True(await RtmpTestHost.EventuallyAsync(() =>
        {
            long held = host.Server.Memory.HeldBytes;
            long publisherHolds = host.Connections.Snapshot().Sum(c => c.MemoryBytes);
            return held == publisherHolds && held == host.Server.Memory.HeldBytes && host.Server.Memory.HeldBeforePublishBytes == 0;
        }), $"{host.Server.Memory.HeldBytes} bytes held with only the publisher left");

        var (code, ffmpegOutput) = await publisher;
        Assert.True(code == 0, ffmpegOutput);
        Assert.True(await RtmpTestHost.EventuallyAsync(() => published!.IsCompleted));
        Assert.Equal(clip.VideoFrames, published!.Statistics.VideoFrames);
        Assert.True(published.Statistics.AudioFrames > 0);

        // All gone: not a byte charged, the pool within its cap.
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Connections.Count == 0 && host.Server.Memory.HeldBytes == 0),
            $"{host.Server.Memory.HeldBytes} bytes still held after every connection closed");
        Assert.Equal(0, host.Server.Memory.HeldBeforePublishBytes);
        Assert.InRange(host.Server.Memory.PooledBytes, 0, host.Server.Memory.Pool.MaxRetainedBytes);
        Assert.DoesNotContain(host.Logs.Entries, e => e.Level >= LogLevel.Error);

        // The bounds: no attacker held more than its budget, and all of them together no more than their number of
        // budgets (the publisher of a 320x240 clip holds a few tens of KiB on top).
        int attackers = outcomes.Length;
        long peak = host.Server.Memory.PeakHeldBytes;
        output.WriteLine($"attackers {attackers}, max per attacker {maxAttacker} B, max held {maxHeld} B, peak held {peak} B, attackers seen holding {holding}");
        Assert.InRange(maxAttacker, 0, bytesPerAttacker);
        Assert.InRange(peak, 0, attackers * bytesPerAttacker + 2 * 1024 * 1024);
        return new AttackResult(outcomes, maxAttacker, maxHeld, peak, holding);
    }

    private static Task<HostileRtmpOutcome[]> RunAsync(IPEndPoint server, HostileRtmpPattern pattern, int connections, Func<int, HostileRtmpOptions> options) =>
        Task.WhenAll(Enumerable.Range(0, connections).Select(i => HostileRtmpClient.RunAsync(server, pattern, i, options(i) with { Source = Attacker })));

    private async Task AssertReasonsAsync(RtmpTestHost host, params (int EventId, string Text, int Count)[] expected)
    {
        foreach (var (eventId, text, count) in expected)
        {
            bool found = await RtmpTestHost.EventuallyAsync(() => host.Logs.Entries.Count(e => e.EventId == eventId && e.Message.Contains(text, StringComparison.Ordinal)) >= count);
            Assert.True(found, $"expected {count} x event {eventId} with '{text}', found {host.Logs.Entries.Count(e => e.EventId == eventId && e.Message.Contains(text, StringComparison.Ordinal))}");
            Assert.Equal(count, host.Logs.Entries.Count(e => e.EventId == eventId && e.Message.Contains(text, StringComparison.Ordinal)));
        }
    }

    private static void AssertAllClosedByServer(IEnumerable<HostileRtmpOutcome> outcomes)
    {
        foreach (var o in outcomes)
        {
            Assert.True(o.Handshaken, $"connection {o.Index}: no handshake ({o.Error})");
            Assert.True(o.ClosedByServer, $"connection {o.Index} ({o.Pattern}) was not closed by the server within its hold; {o.BytesSent} bytes sent");
        }
    }

    [Fact]
    public async Task Chunk_stream_pattern_over_10_connections_is_closed_at_the_first_header_and_a_publish_beside_it_is_unharmed()
    {
        // The reported attack: Set Chunk Size 8 MiB, then a 2 MiB message on each of chunk streams 3-63, before connect.
        // Three flavours by connection: a command (allowed before connect, too big for the budget), an acknowledgement
        // (a control message can be 64 bytes at most) and an unassigned type (not allowed before connect).
        await using var host = await RtmpTestHost.StartAsync();
        try
        {
            byte[] types = [RtmpMessageType.CommandAmf0, RtmpMessageType.Acknowledgement, 7];
            var result = await AttackBesidePublishAsync(host, server => RunAsync(server, HostileRtmpPattern.ChunkStreams, 10,
                i => new HostileRtmpOptions { MessageBytes = 2 * 1024 * 1024, MessageType = types[i % 3], Hold = TimeSpan.FromSeconds(10) }));
            AssertAllClosedByServer(result.Outcomes);
            // Refused at the first message's header: nothing but the bytes in flight was ever held for an attacker.
            Assert.InRange(result.MaxAttackerBytes, 0, RtmpServerSession.InputPauseBytes + 16 * 1024);
            await AssertReasonsAsync(host,
                (MemoryBudgetEvent, "declaring 2097152 bytes while 0 bytes are being reassembled, above the budget of 262144 bytes (Rtmp:MemoryBudgetBeforePublish)", 4),
                (ProtocolErrorEvent, "ControlMessageTooLarge", 3),
                (ProtocolErrorEvent, "unknown message (type 7) before connect", 3));
            Assert.Equal(4, host.Server.Limits.MemoryBudgetCloses);
        }
        finally
        {
            DumpLog(host);
        }
    }

    [Fact]
    public async Task Huge_declared_lengths_are_refused_at_the_header_before_any_buffer()
    {
        await using var host = await RtmpTestHost.StartAsync();
        try
        {
            // Even: 8 MiB declared (Rtmp:MaxMessageSize allows it, the budget does not); odd: 16 MiB - 1 (above MaxMessageSize).
            var result = await AttackBesidePublishAsync(host, server => RunAsync(server, HostileRtmpPattern.HugeLengths, 10,
                _ => new HostileRtmpOptions { MessageBytes = 8 * 1024 * 1024, Hold = TimeSpan.FromSeconds(10) }));
            AssertAllClosedByServer(result.Outcomes);
            Assert.InRange(result.MaxAttackerBytes, 0, RtmpServerSession.InputPauseBytes + 16 * 1024);
            await AssertReasonsAsync(host,
                (MemoryBudgetEvent, "declaring 8388608 bytes", 5),
                (ProtocolErrorEvent, "MessageTooLarge (command message of 16777215 bytes, above Rtmp:MaxMessageSize 8388608)", 5));
        }
        finally
        {
            DumpLog(host);
        }
    }

    [Fact]
    public async Task Interleaved_partial_messages_are_capped_per_connection_before_publish()
    {
        await using var host = await RtmpTestHost.StartAsync();
        try
        {
            // Even: a partial 64 KiB message on each of 61 chunk streams (the 5th is refused); odd: 4 partial 24 KiB
            // messages, within the limits, grown chunk by chunk and held open: they hold memory, under the budget.
            var result = await AttackBesidePublishAsync(host, server => RunAsync(server, HostileRtmpPattern.InterleavedPartials, 10,
                i => i % 2 == 0
                    ? new HostileRtmpOptions { MessageBytes = 64 * 1024, ChunkStreams = 61, Rounds = 8, Hold = TimeSpan.FromSeconds(10) }
                    : new HostileRtmpOptions { MessageBytes = 24 * 1024, ChunkStreams = 4, Rounds = 150, Hold = TimeSpan.FromSeconds(2) }));
            AssertAllClosedByServer(result.Outcomes.Where(o => o.Index % 2 == 0));
            Assert.All(result.Outcomes.Where(o => o.Index % 2 == 1), o => Assert.False(o.ClosedByServer, $"connection {o.Index} within its limits was closed: {o.Error}"));
            Assert.True(result.AttackersSeenHolding >= 5, $"{result.AttackersSeenHolding} attackers seen holding memory");
            Assert.True(result.MaxAttackerBytes >= 4 * 16 * 1024, $"{result.MaxAttackerBytes}: the held-open attackers should hold their partial messages");
            await AssertReasonsAsync(host, (MemoryBudgetEvent, "(Rtmp:MaxPartialMessagesBeforePublish 4)", 5));
        }
        finally
        {
            DumpLog(host);
        }
    }

    [Fact]
    public async Task Aggregate_messages_before_publish_are_refused_at_the_header()
    {
        await using var host = await RtmpTestHost.StartAsync();
        try
        {
            var result = await AttackBesidePublishAsync(host, server => RunAsync(server, HostileRtmpPattern.Aggregates, 10,
                _ => new HostileRtmpOptions { Hold = TimeSpan.FromSeconds(10) }));
            AssertAllClosedByServer(result.Outcomes);
            Assert.InRange(result.MaxAttackerBytes, 0, RtmpServerSession.InputPauseBytes + 16 * 1024);
            await AssertReasonsAsync(host,
                (ProtocolErrorEvent, "aggregate message (type 22) before connect", 5),
                (ProtocolErrorEvent, "aggregate before publish", 5));
        }
        finally
        {
            DumpLog(host);
        }
    }

    [Fact]
    public async Task Extended_timestamps_and_aborts_on_partial_messages_keep_the_accounting_exact()
    {
        await using var host = await RtmpTestHost.StartAsync();
        try
        {
            // After connect. Even: 4 chunk streams (within the limit), extended timestamps repeated and omitted on
            // type-3 chunks, an Abort halfway, held open; odd: the same on 61 chunk streams (the 5th is refused).
            var result = await AttackBesidePublishAsync(host, server => RunAsync(server, HostileRtmpPattern.ExtendedTimestamps, 10,
                i => i % 2 == 0
                    ? new HostileRtmpOptions { MessageBytes = 48 * 1024, ChunkStreams = 4, Rounds = 200, Hold = TimeSpan.FromSeconds(2) }
                    : new HostileRtmpOptions { MessageBytes = 48 * 1024, ChunkStreams = 61, Rounds = 8, Hold = TimeSpan.FromSeconds(10) }));
            Assert.All(result.Outcomes.Where(o => o.Index % 2 == 0), o => Assert.False(o.ClosedByServer, $"connection {o.Index} within its limits was closed: {o.Error}"));
            AssertAllClosedByServer(result.Outcomes.Where(o => o.Index % 2 == 1));
            Assert.True(result.AttackersSeenHolding >= 5, $"{result.AttackersSeenHolding} attackers seen holding memory");
            await AssertReasonsAsync(host, (MemoryBudgetEvent, "(Rtmp:MaxPartialMessagesBeforePublish 4)", 5));
            // The extended timestamps were parsed as such: no connection failed on a confused chunk stream.
            Assert.DoesNotContain(host.Logs.Entries, e => e.EventId == ProtocolErrorEvent);
        }
        finally
        {
            DumpLog(host);
        }
    }

    [Fact]
    public async Task Messages_rtmp_does_not_allow_before_connect_close_the_connection_with_a_logged_reason()
    {
        await using var host = await RtmpTestHost.StartAsync();
        try
        {
            var result = await AttackBesidePublishAsync(host, server => RunAsync(server, HostileRtmpPattern.BeforeConnect, 12,
                _ => new HostileRtmpOptions { Hold = TimeSpan.FromSeconds(10) }));
            AssertAllClosedByServer(result.Outcomes);
            Assert.InRange(result.MaxAttackerBytes, 0, RtmpServerSession.InputPauseBytes + 16 * 1024);
            await AssertReasonsAsync(host,
                (ProtocolErrorEvent, "data message (type 18) before connect", 2),
                (ProtocolErrorEvent, "shared object message (type 19) before connect", 2),
                (ProtocolErrorEvent, "unknown message (type 7) before connect", 2),
                (ProtocolErrorEvent, "ControlMessageTooLarge", 4),
                (ProtocolErrorEvent, "audio message (type 8) before connect", 2));
        }
        finally
        {
            DumpLog(host);
        }
    }

    [Fact]
    public async Task Control_messages_the_spec_allows_before_connect_are_still_accepted()
    {
        await using var host = await RtmpTestHost.StartAsync();
        await using var client = await RtmpTestClient.ConnectAsync(host.EndPoint);
        await client.HandshakeAsync();
        await client.SendRawAsync(Hex.Bytes("02 000000 000004 01 00000000 00000080"));           // Set Chunk Size 128
        await client.SendRawAsync(Hex.Bytes("02 000000 000004 05 00000000 00100000"));           // Window Acknowledgement Size
        await client.SendRawAsync(Hex.Bytes("02 000000 000004 03 00000000 00000C00"));           // Acknowledgement
        await client.SendRawAsync(Hex.Bytes("02 000000 000005 06 00000000 00100000 02"));        // Set Peer Bandwidth
        await client.SendRawAsync(Hex.Bytes("02 000000 000006 04 00000000 0006 00000001"));      // User Control: Ping Request
        await client.SendRawAsync(Hex.Bytes("02 000000 000004 02 00000000 00000009"));           // Abort (chunk stream 9)
        Assert.Equal(RtmpStatusCodes.PublishStart, RtmpTestClient.StatusCode(await client.PublishAsync("live", TestPublishAuthorizer.GoodKey)));
        Assert.DoesNotContain(host.Logs.Entries, e => e.EventId is ProtocolErrorEvent or MemoryBudgetEvent);
    }

    [Fact]
    public async Task Strangers_together_get_half_the_total_and_the_publisher_keeps_the_rest()
    {
        // A small total (1 MiB: strangers share 512 KiB) and 64 KiB per stranger: 40 attackers holding 4 partial 8 KiB
        // messages each want more than that share; those past it are closed, and the publisher beside is not.
        await using var host = await RtmpTestHost.StartAsync(new()
        {
            ["Rtmp:MemoryBudgetBeforePublish"] = "65536",
            ["Rtmp:MemoryBudgetAfterPublish"] = "524288",
            ["Rtmp:MemoryBudgetTotal"] = "1048576",
        });
        try
        {
            var result = await AttackBesidePublishAsync(host, server => RunAsync(server, HostileRtmpPattern.InterleavedPartials, 40,
                _ => new HostileRtmpOptions { MessageBytes = 8 * 1024, ChunkStreams = 4, Rounds = 40, Hold = TimeSpan.FromSeconds(3) }), bytesPerAttacker: 64 * 1024);
            Assert.InRange(result.PeakHeldBytes, 0, 1024 * 1024);
            int closed = result.Outcomes.Count(o => o.ClosedByServer);
            Assert.True(closed > 0, "no attacker was refused by the strangers' share");
            Assert.True(closed < 40, "every attacker was refused: the share should hold several");
            await AssertReasonsAsync(host, (MemoryBudgetEvent, "above their share, half of Rtmp:MemoryBudgetTotal (524288 bytes)", closed));
        }
        finally
        {
            DumpLog(host);
        }
    }
}
