namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// The connection-level half of one RTMP session (RTMP 1.0 §5.4 protocol control, §6.2 user control): the bytes received,
/// the acknowledgement window the peer asked for and the Acknowledgements it is owed, and pings answered. None of it
/// depends on the session's phase, so it is kept apart from the command flow. Used on the connection's read loop;
/// <see cref="BytesIn"/> may be read from any thread.
/// </summary>
internal sealed class RtmpProtocolControl
{
    private long _bytesIn;
    private long _bytesAtLastAck;
    private uint _peerWindow;

    /// <summary>Bytes of the connection consumed so far (handshake and chunk stream).</summary>
    public long BytesIn => Interlocked.Read(ref _bytesIn);

    public void AddBytesIn(long count) => Interlocked.Add(ref _bytesIn, count);

    /// <summary>
    /// Applies a protocol or user control message; false for any other type. Set Chunk Size and Abort are the chunk
    /// reader's; Acknowledgement and Set Peer Bandwidth ask nothing of a server that only receives.
    /// </summary>
    public bool TryHandle(RtmpMessage message, RtmpReplyWriter replies)
    {
        var payload = message.Payload.Span;
        switch (message.TypeId)
        {
            case RtmpMessageType.SetChunkSize:
            case RtmpMessageType.Abort:
                return true; // applied by the chunk reader
            case RtmpMessageType.Acknowledgement:
            case RtmpMessageType.SetPeerBandwidth:
                return true;
            case RtmpMessageType.WindowAcknowledgementSize:
                if (!WindowAcknowledgementSize.TryRead(payload, out var window, out _))
                    throw new RtmpCloseException("malformed Window Acknowledgement Size");
                _peerWindow = window.Size;
                return true;
            case RtmpMessageType.UserControl:
                if (!UserControlMessage.TryRead(payload, out var control, out _)) throw new RtmpCloseException("malformed User Control message");
                if (control.EventType == UserControlEventType.PingRequest)
                    replies.SendControl(RtmpMessageType.UserControl, new UserControlMessage(UserControlEventType.PingResponse, control.Value));
                return true;
            default:
                return false;
        }
    }

    /// <summary>§5.4.3: acknowledge after every window's worth of bytes, with the running total (wrapping at 2^32).</summary>
    public void AcknowledgeIfDue(RtmpReplyWriter replies)
    {
        if (_peerWindow == 0 || _bytesIn - _bytesAtLastAck < _peerWindow) return;
        _bytesAtLastAck = _bytesIn;
        replies.SendControl(RtmpMessageType.Acknowledgement, new Acknowledgement((uint)_bytesIn));
    }
}
