using Broadcast.TestSupport;
using System.Buffers;
using Broadcast.Ingest.Rtmp;
using Broadcast.Ingest.Tests.Rtmp;
using Broadcast.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace Broadcast.Ingest.Tests.Fuzzing;

/// <summary>
/// Fuzzes the RTMP wire parsers with mutations of their case tables. The documented failure path of each is a result
/// value (<see cref="ServerHandshake.Status.Error"/>, <see cref="ChunkReadStatus.Error"/>, <see cref="AmfError"/>),
/// which <c>RtmpServerSession</c> turns into one logged close; an exception escaping a parser would instead be logged
/// as a failure (event 1010), so none may. Iterations: BROADCAST_FUZZ_ITERATIONS (default 100000 per parser).
/// </summary>
public class RtmpFuzzTests(ITestOutputHelper output)
{
    private static byte[] Bytes(string hex) => Hex.Bytes(hex);

    private void Check(FuzzReport report)
    {
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        // A run where nothing parses (or nothing fails) mutates too much (or too little) to test anything.
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }

    /// <summary>Feeds <paramref name="input"/> in random slices, as a socket delivers it, through <paramref name="step"/>.</summary>
    private static bool FeedInSlices(byte[] input, FuzzRandom random, Func<ReadOnlySequence<byte>, (long Remaining, bool Stop)> step)
    {
        int maxSlice = random.Pick(new[] { 1, 7, 128, 4096, int.MaxValue });
        int consumed = 0, fed = 0;
        while (fed < input.Length)
        {
            fed = (int)Math.Min(input.Length, (long)fed + random.Between(1, Math.Min(maxSlice, input.Length)));
            var (remaining, stop) = step(new ReadOnlySequence<byte>(input, consumed, fed - consumed));
            consumed = fed - (int)remaining;
            if (stop) return false;
        }
        return true;
    }

    public static IReadOnlyList<byte[]> HandshakeSeeds()
    {
        var seeds = new List<byte[]>();
        var c2 = new byte[HandshakePacket.Length];
        var plainC1 = new byte[HandshakePacket.Length];
        plainC1[3] = 100;
        seeds.Add([HandshakeC0.Rtmp, .. plainC1, .. c2]);
        foreach (var row in HandshakeTests.DigestCases)
            seeds.Add([HandshakeC0.Rtmp, .. HandshakeTests.DigestC1((HandshakeDigestScheme)row[1], (int)row[2]), .. c2, .. Bytes("03 000000 000005 14 00000000 0500000000")]);
        seeds.AddRange(FuzzSeeds.Column(HandshakeTests.C0Cases, 2));
        return seeds;
    }

    [Fact]
    public void Handshake_state_machine()
    {
        var report = FuzzRunner.Run("handshake", HandshakeSeeds(), (input, random) =>
        {
            var handshake = new ServerHandshake();
            var response = new ArrayBufferWriter<byte>(HandshakeResponder.ServerHelloLength);
            var status = ServerHandshake.Status.NeedMoreData;
            FeedInSlices(input, random, sequence =>
            {
                status = handshake.TryAdvance(ref sequence, response, 42);
                return (sequence.Length, status != ServerHandshake.Status.NeedMoreData);
            });
            if (status == ServerHandshake.Status.Error && string.IsNullOrEmpty(handshake.Error)) throw new InvalidOperationException("error without a reason");
            if (response.WrittenCount is not (0 or HandshakeResponder.ServerHelloLength)) throw new InvalidOperationException($"wrote {response.WrittenCount} bytes");
            return status == ServerHandshake.Status.Done;
        }, new FuzzOptions { MaxInputLength = 8 * 1024 });
        Check(report);
    }

    public static IReadOnlyList<byte[]> ChunkSeeds()
    {
        var seeds = new List<byte[]>();
        seeds.AddRange(FuzzSeeds.Column(ChunkHeaderTests.Cases, 3));
        seeds.AddRange(FuzzSeeds.Column(ChunkStreamReaderTests.Errors, 1));
        // Whole streams as encoders send them: control messages, a chunk-size change, interleaved media with
        // extended timestamps, a command.
        var writer = new ArrayBufferWriter<byte>();
        var chunks = new ChunkStreamWriter();
        var payload = new byte[700];
        new Random(7).NextBytes(payload);
        chunks.Write(writer, 2, RtmpMessageType.WindowAcknowledgementSize, 0, 0, Bytes("002625A0"));
        chunks.Write(writer, 3, RtmpMessageType.CommandAmf0, 0, 0, Bytes("02 0007 636F6E6E656374 00 3FF0000000000000 03 0003 617070 02 0004 6C697665 0000 09"));
        chunks.Write(writer, 4, RtmpMessageType.Video, 0x01000000, 1, payload);
        chunks.Write(writer, 2, RtmpMessageType.SetChunkSize, 0, 0, Bytes("00000100"));
        chunks.ChunkSize = 256;
        chunks.Write(writer, 6, RtmpMessageType.Audio, 0xFFFFFF, 1, payload.AsSpan(0, 300));
        chunks.Write(writer, 4, RtmpMessageType.Video, 40, 1, payload);
        chunks.Write(writer, 2, RtmpMessageType.UserControl, 0, 0, Bytes("0006 00000001"));
        chunks.Write(writer, 2, RtmpMessageType.Abort, 0, 0, Bytes("00000004"));
        seeds.Add(writer.WrittenSpan.ToArray());
        return seeds;
    }

    [Fact]
    public void Chunk_stream_reader_across_messages()
    {
        var options = new ChunkStreamReaderOptions { MaxMessageSize = 16 * 1024 * 1024, MaxBufferedBytes = 32 * 1024 * 1024, MaxChunkStreams = 64 };
        var report = FuzzRunner.Run("chunk stream", ChunkSeeds(), (input, random) =>
        {
            using var reader = new ChunkStreamReader(options);
            var status = ChunkReadStatus.NeedMoreData;
            long payloadBytes = 0;
            bool complete = FeedInSlices(input, random, sequence =>
            {
                while ((status = reader.TryRead(ref sequence, out var message)) == ChunkReadStatus.Message)
                {
                    payloadBytes += message.Payload.Length;
                    if (message.TypeId == RtmpMessageType.UserControl) UserControlMessage.TryRead(message.Payload.Span, out _, out _);
                }
                return (sequence.Length, status == ChunkReadStatus.Error);
            });
            if (status == ChunkReadStatus.Error && reader.Error == ChunkReadError.None) throw new InvalidOperationException("error without a reason");
            // Reassembly memory follows the bytes received, never the lengths declared.
            long bound = 2L * input.Length + 256L * reader.OpenChunkStreams;
            if (reader.ReservedBytes > bound) throw new InvalidOperationException($"{reader.ReservedBytes} bytes reserved for {input.Length} bytes received");
            return complete && payloadBytes > 0;
        });
        Check(report);
    }

    [Fact]
    public void Chunk_header_declaring_16_MB_with_10_bytes_reserves_little()
    {
        using var reader = new ChunkStreamReader(new ChunkStreamReaderOptions { MaxMessageSize = 16 * 1024 * 1024, MaxBufferedBytes = 32 * 1024 * 1024 });
        var sequence = new ReadOnlySequence<byte>(Bytes("04 000000 FFFFFF 09 01000000 00112233445566778899"));
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal(ChunkReadStatus.NeedMoreData, reader.TryRead(ref sequence, out _));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(reader.HasPartialMessage);
        Assert.InRange(reader.ReservedBytes, 10, 4096);
        Assert.InRange(allocated, 0, 64 * 1024);
    }

    public static IReadOnlyList<byte[]> Amf0Seeds() =>
        [.. FuzzSeeds.Column(Amf0Tests.Cases, 2).Where(b => b.Length < 4096), .. FuzzSeeds.Column(Amf0Tests.Errors, 1)];

    [Fact]
    public void Amf0_decoder()
    {
        var report = FuzzRunner.Run("amf0", Amf0Seeds(), (input, random) =>
        {
            var reader = new Amf0Reader(input);
            while (!reader.End)
            {
                if (reader.TryReadValue(out _)) continue;
                if (reader.Error == AmfError.None) throw new InvalidOperationException("failure without an error");
                return false;
            }
            return true;
        });
        Check(report);
    }

    public static IReadOnlyList<byte[]> Amf3Seeds() =>
        [.. FuzzSeeds.Column(Amf3Tests.Cases, 2), .. FuzzSeeds.Column(Amf3Tests.Errors, 1)];

    [Fact]
    public void Amf3_decoder()
    {
        var report = FuzzRunner.Run("amf3", Amf3Seeds(), (input, random) =>
        {
            var tables = new Amf3Reader.Tables();
            int position = 0;
            while (position < input.Length)
            {
                var reader = new Amf3Reader(input.AsSpan(position), tables);
                if (!reader.TryReadValue(out _))
                {
                    if (reader.Error == AmfError.None) throw new InvalidOperationException("failure without an error");
                    return false;
                }
                position += reader.Consumed;
            }
            return true;
        });
        Check(report);
    }

    public static IReadOnlyList<byte[]> CommandSeeds() =>
        [.. FuzzSeeds.Column(CommandTests.Cases, 2), .. FuzzSeeds.Column(CommandTests.Errors, 1), .. Amf3Seeds().Select(b => (byte[])[0x02, 0x00, 0x01, 0x61, 0x11, .. b])];

    [Fact]
    public void Command_and_data_messages()
    {
        var report = FuzzRunner.Run("command/data", CommandSeeds(), (input, random) =>
        {
            bool amf3 = random.Chance(2);
            bool command = RtmpCommand.TryRead(input, amf3, out var c, out _, out var commandError);
            if (command)
            {
                _ = c!.FirstStringArgument;
                _ = c.GetProperty("app");
            }
            else if (commandError == AmfError.None) throw new InvalidOperationException("command failure without an error");
            bool data = RtmpDataMessage.TryRead(input, amf3, out var d, out var dataError);
            if (data) d!.TryGetMetadata(out _);
            else if (dataError == AmfError.None) throw new InvalidOperationException("data failure without an error");
            return command;
        });
        Check(report);
    }

    [Fact]
    public void Cue_point_data_messages()
    {
        var seeds = FuzzSeeds.Column(CuePointTests.Cases, 2).Concat(FuzzSeeds.Column(CuePointTests.Refusals, 1)).ToList();
        var report = FuzzRunner.Run("onCuePoint", seeds, (input, random) =>
        {
            if (!RtmpDataMessage.TryRead(input, false, out var message, out var error))
                return error != AmfError.None ? false : throw new InvalidOperationException("data failure without an error");
            if (RtmpCuePoint.TryRead(message!, out var cue, out var refusal))
                return cue.DurationMs >= 1000 && cue.PreRollMs is >= 0 and <= RtmpCuePoint.MaxPreRollMs
                    ? true
                    : throw new InvalidOperationException($"a cue outside the bounds: {cue}");
            return message!.Name != RtmpCuePoint.OnCuePoint || refusal is not null ? false : throw new InvalidOperationException("refused without a reason");
        });
        Check(report);
    }
}
