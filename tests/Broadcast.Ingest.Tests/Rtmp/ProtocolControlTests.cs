using Broadcast.TestSupport;
using Broadcast.Ingest.Rtmp;

namespace Broadcast.Ingest.Tests.Rtmp;

public class ProtocolControlTests
{
    public static TheoryData<string, object, string> Cases => new()
    {
        { "Set Chunk Size 4096", new SetChunkSize(4096), "00001000" },
        { "Set Chunk Size max", new SetChunkSize(0x7FFFFFFF), "7FFFFFFF" },
        { "Abort csid 4", new AbortMessage(4), "00000004" },
        { "Acknowledgement", new Acknowledgement(0xDEADBEEF), "DEADBEEF" },
        { "Window Acknowledgement Size", new WindowAcknowledgementSize(2_500_000), "002625A0" },
        { "Set Peer Bandwidth dynamic", new SetPeerBandwidth(2_500_000, PeerBandwidthLimit.Dynamic), "002625A0 02" },
        { "Stream Begin 1", new UserControlMessage(UserControlEventType.StreamBegin, 1), "0000 00000001" },
        { "Ping Request", new UserControlMessage(UserControlEventType.PingRequest, 0x1234), "0006 00001234" },
        { "Ping Response", new UserControlMessage(UserControlEventType.PingResponse, 0x1234), "0007 00001234" },
        { "Set Buffer Length", new UserControlMessage(UserControlEventType.SetBufferLength, 1, 3000), "0003 00000001 00000BB8" },
    };

    private static bool TryRead(object sample, ReadOnlySpan<byte> bytes, out object? value, out int consumed)
    {
        bool ok;
        switch (sample)
        {
            case SetChunkSize: ok = SetChunkSize.TryRead(bytes, out var a, out consumed); value = a; break;
            case AbortMessage: ok = AbortMessage.TryRead(bytes, out var b, out consumed); value = b; break;
            case Acknowledgement: ok = Acknowledgement.TryRead(bytes, out var c, out consumed); value = c; break;
            case WindowAcknowledgementSize: ok = WindowAcknowledgementSize.TryRead(bytes, out var d, out consumed); value = d; break;
            case SetPeerBandwidth: ok = SetPeerBandwidth.TryRead(bytes, out var e, out consumed); value = e; break;
            case UserControlMessage: ok = UserControlMessage.TryRead(bytes, out var f, out consumed); value = f; break;
            default: throw new ArgumentException(sample.GetType().Name);
        }
        return ok;
    }

    private static byte[] Write(object value) => Hex.Written(w =>
    {
        switch (value)
        {
            case SetChunkSize a: a.Write(w); break;
            case AbortMessage b: b.Write(w); break;
            case Acknowledgement c: c.Write(w); break;
            case WindowAcknowledgementSize d: d.Write(w); break;
            case SetPeerBandwidth e: e.Write(w); break;
            case UserControlMessage f: f.Write(w); break;
        }
    });

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reads(string name, object decoded, string hex)
    {
        var bytes = Hex.Bytes(hex);
        Assert.True(TryRead(decoded, bytes, out var value, out int consumed), name);
        Assert.Equal(decoded, value);
        Assert.Equal(bytes.Length, consumed);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Writes(string name, object decoded, string hex) => Assert.True(Hex.Bytes(hex).AsSpan().SequenceEqual(Write(decoded)), name);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Truncated_payloads_are_refused(string name, object decoded, string hex)
    {
        var bytes = Hex.Bytes(hex);
        for (int n = 0; n < bytes.Length; n++) Assert.False(TryRead(decoded, bytes.AsSpan(0, n), out _, out _), $"{name} at {n}");
    }

    [Fact]
    public void Invalid_values_are_refused()
    {
        Assert.False(SetChunkSize.TryRead(Hex.Bytes("00000000"), out _, out _));
        Assert.False(SetChunkSize.TryRead(Hex.Bytes("80000001"), out _, out _));
        Assert.False(SetPeerBandwidth.TryRead(Hex.Bytes("00001000 03"), out _, out _));
    }
}
