using System.Buffers;

namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// The server side of the handshake as an incremental state machine over received bytes: C0+C1 in, S0+S1+S2 out
/// (through <see cref="HandshakeResponder"/>), then C2 read and discarded. Fed whatever the socket delivered, one
/// byte or many at a time; no sockets, no allocation. A wrong version byte fails at once, before 1537 bytes arrive.
/// </summary>
public sealed class ServerHandshake
{
    public enum Status
    {
        /// <summary>Every byte offered was consumed (or is kept for later); feed more.</summary>
        NeedMoreData,

        /// <summary>C2 was read; what follows in the buffer is the chunk stream.</summary>
        Done,

        /// <summary>The client broke the handshake; <see cref="Error"/> says how. The connection must close.</summary>
        Error,
    }

    private enum Stage
    {
        AwaitC0C1,
        AwaitC2,
        Done,
        Failed,
    }

    private Stage _stage;

    /// <summary>The digest scheme C1 used, known once S0S1S2 has been written.</summary>
    public HandshakeDigestScheme Scheme { get; private set; } = HandshakeDigestScheme.None;

    public string? Error { get; private set; }

    /// <summary>
    /// Consumes handshake bytes from <paramref name="buffer"/> (sliced past them) and writes S0S1S2 to
    /// <paramref name="output"/> as soon as C0C1 is complete.
    /// </summary>
    public Status TryAdvance(ref ReadOnlySequence<byte> buffer, IBufferWriter<byte> output, uint serverTime)
    {
        while (true)
        {
            switch (_stage)
            {
                case Stage.AwaitC0C1:
                {
                    if (buffer.IsEmpty) return Status.NeedMoreData;
                    byte version = buffer.FirstSpan[0];
                    if (version != HandshakeC0.Rtmp) return Fail($"unsupported RTMP version byte 0x{version:X2}");
                    if (buffer.Length < HandshakeResponder.ClientHelloLength) return Status.NeedMoreData;
                    Span<byte> c0c1 = stackalloc byte[HandshakeResponder.ClientHelloLength];
                    buffer.Slice(0, HandshakeResponder.ClientHelloLength).CopyTo(c0c1);
                    var response = output.GetSpan(HandshakeResponder.ServerHelloLength);
                    HandshakeResponder.TryRespond(c0c1, response, serverTime, out var scheme);
                    output.Advance(HandshakeResponder.ServerHelloLength);
                    Scheme = scheme;
                    buffer = buffer.Slice(HandshakeResponder.ClientHelloLength);
                    _stage = Stage.AwaitC2;
                    break;
                }
                case Stage.AwaitC2:
                    // C2 is not checked: not every encoder signs it as the digest scheme says.
                    if (buffer.Length < HandshakePacket.Length) return Status.NeedMoreData;
                    buffer = buffer.Slice(HandshakePacket.Length);
                    _stage = Stage.Done;
                    return Status.Done;
                case Stage.Done:
                    return Status.Done;
                default:
                    return Status.Error;
            }
        }
    }

    private Status Fail(string error)
    {
        Error = error;
        _stage = Stage.Failed;
        return Status.Error;
    }
}
