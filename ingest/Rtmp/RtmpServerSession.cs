using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Broadcast.Ingest.Rtmp.Receive;
using Broadcast.Media;
using Microsoft.Extensions.Logging;

namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// One RTMP client's protocol session: handshake, chunk stream, and the command flow (connect → createStream →
/// publish), with media handed to its <see cref="RtmpMediaFeed"/>. Who may publish and how a publish ends is the
/// <see cref="RtmpPublishPolicy"/>'s to decide. A protocol fault closes only this connection, with one log line naming
/// the reason. All writes happen on the connection's own read loop, so the output needs no lock.
/// </summary>
internal sealed class RtmpServerSession
{
    /// <summary>
    /// The input pipe's pause threshold. The parser runs inline on the reading thread and consumes everything it is
    /// given, so the pipe fills only while the parser awaits (the publish authorizer); then the reading thread stops at
    /// this many bytes instead of the pump's default 1 MiB. Counted in the connection's memory budget.
    /// </summary>
    internal const int InputPauseBytes = 64 * 1024;

    private readonly RtmpSessionServices _services;
    private readonly Socket _socket;
    private readonly RtmpOptions _options;
    private readonly ILogger _logger;
    private readonly ChunkStreamReader _chunks;
    private readonly RtmpConnectionMemory _memory;
    private readonly string _remote;
    private PipeReader _input = null!;
    private PipeWriter _output = null!;
    private RtmpReplyWriter _replies = null!;
    private CancellationTokenSource _timeout = null!;
    private readonly RtmpProtocolControl _control = new();
    private uint _lastStreamId;
    private double _objectEncoding;
    private volatile RtmpConnectionState _state = RtmpConnectionState.Handshake;
    private string? _app;
    private uint _publishStreamId;
    private bool _serverStopping;
    private readonly RtmpAdmission _admission;
    private readonly RtmpPrePublishLimits _limits;
    private readonly RtmpPublishPolicy _publish;
    private readonly RtmpMediaFeed _feed;
    private ReceiveRegistration? _receive;
    private bool _peerStalled; // ended because the peer stopped taking part: a timeout, a full send buffer, its memory budget

    /// <param name="address">The peer's address as the per-IP limits count it (IPv4-mapped addresses unmapped).</param>
    public RtmpServerSession(RtmpSessionServices services, long id, Socket socket, IPAddress address, DateTimeOffset connectedAt)
    {
        var options = services.Options;
        _services = services;
        _admission = services.Admission;
        Address = address;
        Id = id;
        _socket = socket;
        _options = options;
        _logger = services.Logger;
        ConnectedAt = connectedAt;
        RemoteEndPoint = socket.RemoteEndPoint as IPEndPoint;
        _remote = RemoteEndPoint?.ToString() ?? "?";
        _limits = new RtmpPrePublishLimits(options);
        _publish = new RtmpPublishPolicy(services, id, _remote, address, RemoteEndPoint, Abort);
        _feed = new RtmpMediaFeed(id, _remote, options.MaxVideoTracks, options.MaxAudioTracks, _logger);
        // Until a publish is accepted the peer is a stranger: a small budget, a few partial messages at a time, buffers
        // that grow only with the bytes that arrived, and only the message types its phase allows (IsAllowedNow).
        _memory = new RtmpConnectionMemory(services.Memory, options.MemoryBudgetBeforePublish);
        _chunks = new ChunkStreamReader(new ChunkStreamReaderOptions
        {
            MaxMessageSize = options.MaxMessageSize,
            MaxChunkStreams = options.MaxChunkStreams,
            MaxBufferedBytes = options.MemoryBudgetBeforePublish,
            MaxPartialMessages = options.MaxPartialMessagesBeforePublish,
            Buffers = _memory,
        })
        {
            MessageTypeFilter = IsAllowedNow,
        };
    }

    public long Id { get; }

    public IPEndPoint? RemoteEndPoint { get; }

    /// <summary>The peer's address as the per-IP limits count it (IPv4-mapped addresses unmapped).</summary>
    public IPAddress Address { get; }

    public DateTimeOffset ConnectedAt { get; }

    public RtmpConnectionInfo Info =>
        new(Id, _remote, _state, _control.BytesIn, _app, _publish.Stream?.Name, _publish.Decision.ChannelId, ConnectedAt)
    {
        MemoryBytes = _memory.HeldBytes,
    };

    public async Task RunAsync(CancellationToken serverStopping)
    {
        var transport = _services.Transport;
        await using var network = transport is null ? new NetworkStream(_socket, ownsSocket: true)
            : await transport.OpenAsync(_socket, Id, _remote, serverStopping).ConfigureAwait(false);
        if (network is null)
        {
            // Refused by the transport, which logged why and closed the socket.
            _state = RtmpConnectionState.Closed;
            _chunks.Dispose();
            _memory.Dispose();
            return;
        }
        // A peer that stops reading what we send is dropped after this, instead of holding the receive thread.
        _socket.SendTimeout = checked(Math.Max(1, _options.IdleTimeoutSeconds) * 1000);
        _receive = transport is null ? _services.ReceiveLoops?.Register(_socket, InputPauseBytes) : null;
        _input = _receive?.Reader ?? BlockingReadPump.Start(network, $"rtmp-{Id}", pauseBytes: InputPauseBytes);
        // Replies are written on the reading thread: on a receive loop, which serves other publishers too, they never block.
        _output = PipeWriter.Create(_receive is null ? new SynchronousWriteStream(network) : new DontWaitSendStream(_socket),
            new StreamPipeWriterOptions(leaveOpen: true));
        _replies = new RtmpReplyWriter(_output, _memory);
        _timeout = CancellationTokenSource.CreateLinkedTokenSource(serverStopping);
        var token = _timeout.Token;
        try
        {
            _timeout.CancelAfter(_limits.Arm(TimeSpan.FromSeconds(_options.HandshakeTimeoutSeconds),
                $"handshake not completed within {_options.HandshakeTimeoutSeconds} s"));
            await HandshakeAsync(token).ConfigureAwait(false);
            _state = RtmpConnectionState.Connected;
            await ReadMessagesAsync(token).ConfigureAwait(false);
        }
        catch (RtmpCloseException close) when (close.MemoryBudget)
        {
            _peerStalled = true;
            _admission.Counters.OnMemoryBudget();
            RtmpLog.MemoryBudgetExceeded(_logger, Id, _remote, close.Message, _state, _app, _publish.Decision.ChannelId);
        }
        catch (RtmpCloseException close) when (close.SlowClient)
        {
            _peerStalled = true;
            _admission.Counters.OnSlowClient();
            RtmpLog.SlowClient(_logger, Id, _remote, close.Message);
        }
        catch (RtmpCloseException close)
        {
            if (!close.Logged) RtmpLog.ProtocolError(_logger, Id, _remote, close.Message, _app, _publish.Decision.ChannelId);
        }
        catch (OperationCanceledException) when (_publish.EndedByServer is { } ended)
        {
            RtmpLog.EndedByServer(_logger, Id, _remote, ended.Name, _publish.Decision.ChannelId);
        }
        catch (OperationCanceledException) when (!serverStopping.IsCancellationRequested)
        {
            _peerStalled = true;
            if (!_limits.EverPublished) _admission.Counters.OnSlowClient();
            if (_limits.TimeoutIsSlowClient) RtmpLog.SlowClient(_logger, Id, _remote, _limits.TimeoutReason);
            else RtmpLog.ProtocolError(_logger, Id, _remote, _limits.TimeoutReason, _app, _publish.Decision.ChannelId);
        }
        catch (OperationCanceledException)
        {
            // server shutting down
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            RtmpLog.Closed(_logger, Id, _remote, _control.BytesIn);
        }
        catch (Exception ex)
        {
            RtmpLog.Failed(_logger, ex, Id, _remote, _app, _publish.Decision.ChannelId);
        }
        finally
        {
            // A timeout or shutdown resumes the parser on the thread that cancelled it (the pipe's reader runs inline):
            // the runtime's timer thread, say. Ending the publish (final segments, manifests) belongs on the pool.
            await Task.Yield();
            _state = RtmpConnectionState.Closed;
            _serverStopping = serverStopping.IsCancellationRequested;
            await EndPublishAsync(sendStatus: false).ConfigureAwait(false);
            // Every buffer back to the pool and every byte charged back to the budget: nothing stays behind the connection.
            _chunks.Dispose();
            _timeout.Dispose();
            await _input.CompleteAsync().ConfigureAwait(false);
            _receive?.Dispose();
            _memory.Dispose();
            try
            {
                await _output.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or RtmpCloseException)
            {
            }
            if (_peerStalled) StalledPeerReset.ResetIfUnsent(_socket, _logger, Id, _remote);
        }
    }

    /// <summary>Aborts the connection (server shutdown).</summary>
    public void Abort()
    {
        try
        {
            _timeout?.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task HandshakeAsync(CancellationToken token)
    {
        var handshake = new ServerHandshake();
        while (true)
        {
            var result = await _input.ReadAsync(token).ConfigureAwait(false);
            var buffer = result.Buffer;
            _limits.CheckSlowClient(_control.BytesIn + buffer.Length);
            ChargeInput(buffer.Length);
            long before = buffer.Length;
            var status = handshake.TryAdvance(ref buffer, _output, (uint)Environment.TickCount64);
            _control.AddBytesIn(before - buffer.Length);
            // Once done, bytes after C2 are the chunk stream: leave them unexamined so the next read returns them.
            if (status == ServerHandshake.Status.Done) _input.AdvanceTo(buffer.Start);
            else _input.AdvanceTo(buffer.Start, buffer.End);
            if (status == ServerHandshake.Status.Error) throw new RtmpCloseException(handshake.Error!);
            if (_output.UnflushedBytes > 0) await _replies.FlushAsync(token).ConfigureAwait(false);
            if (status == ServerHandshake.Status.Done) break;
            if (result.IsCompleted) throw new RtmpCloseException("connection ended during the handshake");
        }
        RtmpLog.HandshakeDone(_logger, Id, _remote, handshake.Scheme);
    }

    private async Task ReadMessagesAsync(CancellationToken token)
    {
        var idle = TimeSpan.FromSeconds(_options.IdleTimeoutSeconds);
        while (true)
        {
            _timeout.CancelAfter(_limits.Arm(idle, $"idle for {_options.IdleTimeoutSeconds} s"));
            var result = await _input.ReadAsync(token).ConfigureAwait(false);
            var buffer = result.Buffer;
            _limits.CheckSlowClient(_control.BytesIn + buffer.Length);
            ChargeInput(buffer.Length);
            long before = buffer.Length;
            ChunkReadStatus status;
            try
            {
                while ((status = _chunks.TryRead(ref buffer, out var message)) == ChunkReadStatus.Message)
                {
                    if (message.TypeId is RtmpMessageType.Audio or RtmpMessageType.Video) _feed.WriteMedia(message.TypeId, message.Timestamp,
                        message.Payload.Span);
                    else await HandleMessageAsync(message, token).ConfigureAwait(false);
                }
            }
            finally
            {
                _control.AddBytesIn(before - buffer.Length);
                _input.AdvanceTo(buffer.Start, buffer.End);
            }
            ChargeInput(buffer.Length); // what is left of the read: a partial chunk header at most
            if (status == ChunkReadStatus.Error) throw RtmpCloseException.ForChunkError(_chunks, _memory, beforeConnect: _app is null,
                _options.MaxMessageSize);
            _control.AcknowledgeIfDue(_replies);
            if (_output.UnflushedBytes > 0) await _replies.FlushAsync(token).ConfigureAwait(false);
            if (result.IsCompleted)
            {
                if (buffer.Length > 0 || _chunks.HasPartialMessage) throw new RtmpCloseException("connection ended inside a chunk");
                RtmpLog.Closed(_logger, Id, _remote, _control.BytesIn);
                return;
            }
        }
    }

    /// <summary>
    /// The message types a peer may send in its phase, decided at the message's first chunk header, before any of its
    /// payload is buffered. Before connect, RTMP 1.0 §7.2.1.1 has the client send connect first; only the protocol
    /// control messages (§5.4: Set Chunk Size, Abort, Acknowledgement, Window Acknowledgement Size, Set Peer Bandwidth)
    /// and user control (§6.2: ping) may precede it, since they are about the connection, not the session; a command
    /// other than connect is refused once parsed. Between connect and publish, media and aggregates are refused.
    /// </summary>
    private bool IsAllowedNow(byte typeId)
    {
        if (_app is null) return typeId is >= RtmpMessageType.SetChunkSize and <= RtmpMessageType.SetPeerBandwidth or RtmpMessageType.CommandAmf0
            or RtmpMessageType.CommandAmf3;
        if (!_feed.IsFeeding) return typeId is not (RtmpMessageType.Audio or RtmpMessageType.Video or RtmpMessageType.Aggregate);
        return true;
    }

    /// <summary>Charges the received bytes not consumed yet to the connection's memory budget.</summary>
    private void ChargeInput(long pending)
    {
        if (!_memory.TrySetInput(pending)) throw new RtmpCloseException(_memory.Refusal!, memoryBudget: true);
    }

    private async ValueTask HandleMessageAsync(RtmpMessage message, CancellationToken token)
    {
        if (_control.TryHandle(message, _replies)) return;
        var payload = message.Payload.Span;
        switch (message.TypeId)
        {
            case RtmpMessageType.CommandAmf0:
            case RtmpMessageType.CommandAmf3:
            {
                if (!RtmpCommand.TryRead(payload, message.TypeId == RtmpMessageType.CommandAmf3, out var command, out _, out var amfError))
                    throw new RtmpCloseException($"malformed AMF in command message: {amfError}");
                await HandleCommandAsync(command!, message.MessageStreamId, token).ConfigureAwait(false);
                return;
            }
            case RtmpMessageType.DataAmf0:
            case RtmpMessageType.DataAmf3:
            {
                if (!RtmpDataMessage.TryRead(payload, message.TypeId == RtmpMessageType.DataAmf3, out var data, out var amfError))
                    throw new RtmpCloseException($"malformed AMF in data message: {amfError}");
                if (_feed.TrySetMetadata(data!)) return;
                if (_publish.Stream is { } stream && data!.Name == RtmpCuePoint.OnCuePoint) _feed.WriteCuePoint(stream, data, message.Timestamp,
                    _publish.Decision.ChannelId);
                return;
            }
            case RtmpMessageType.Aggregate:
                _feed.WriteAggregate(message.Timestamp, payload);
                return;
            default:
                // Shared objects and types this server has no use for: harmless, ignored.
                RtmpLog.IgnoredMessage(_logger, Id, message.TypeId);
                return;
        }
    }

    private async ValueTask HandleCommandAsync(RtmpCommand command, uint messageStreamId, CancellationToken token)
    {
        if (command.Name != RtmpCommandNames.Connect && _app is null)
            throw new RtmpCloseException($"command {Truncate(command.Name)} before connect");
        switch (command.Name)
        {
            case RtmpCommandNames.Connect:
                HandleConnect(command);
                return;
            case RtmpCommandNames.CreateStream:
                _lastStreamId++;
                _replies.SendCommand(0, RtmpReplyWriter.CommandChunkStream, RtmpReplies.Result(command.TransactionId, (double)_lastStreamId));
                return;
            case RtmpCommandNames.ReleaseStream:
                _replies.SendCommand(0, RtmpReplyWriter.CommandChunkStream, RtmpReplies.Result(command.TransactionId, AmfUndefined.Value));
                return;
            case RtmpCommandNames.FCPublish:
                _replies.SendCommand(0, RtmpReplyWriter.CommandChunkStream, RtmpReplies.OnFCPublish(RtmpStatusCodes.PublishStart, "FCPublish"));
                return;
            case RtmpCommandNames.Publish:
                await HandlePublishAsync(command, messageStreamId, token).ConfigureAwait(false);
                return;
            case RtmpCommandNames.FCUnpublish:
            case RtmpCommandNames.DeleteStream:
            case RtmpCommandNames.CloseStream:
                await EndPublishAsync(sendStatus: true).ConfigureAwait(false);
                return;
            default:
                RtmpLog.IgnoredCommand(_logger, Id, Truncate(command.Name));
                return;
        }
    }

    private void HandleConnect(RtmpCommand command)
    {
        if (_app is not null) throw new RtmpCloseException("connect sent twice");
        if (!RtmpConnectRequest.TryRead(command, out var connect, out var error)) throw new RtmpCloseException(error!);
        _app = Truncate(connect.App);
        _objectEncoding = connect.ObjectEncoding;
        _publish.Encoder = connect.FlashVer;

        uint window = (uint)_options.WindowAcknowledgementSize;
        _replies.SendControl(RtmpMessageType.WindowAcknowledgementSize, new WindowAcknowledgementSize(window));
        _replies.SendControl(RtmpMessageType.SetPeerBandwidth, new SetPeerBandwidth(window, PeerBandwidthLimit.Dynamic));
        int chunkSize = Math.Clamp(_options.ChunkSize, 128, 65536);
        _replies.SendControl(RtmpMessageType.SetChunkSize, new SetChunkSize((uint)chunkSize));
        _replies.ChunkSize = chunkSize;
        _replies.SendCommand(0, RtmpReplyWriter.CommandChunkStream, RtmpReplies.ConnectResult(command.TransactionId, _objectEncoding, _options));
    }

    private async ValueTask HandlePublishAsync(RtmpCommand command, uint messageStreamId, CancellationToken token)
    {
        if (_publish.Stream is not null) throw new RtmpCloseException("publish sent twice");
        string? name = command.FirstStringArgument;
        int query = name?.IndexOf('?') ?? -1;
        if (query >= 0) name = name![..query];
        if (string.IsNullOrEmpty(name))
        {
            await RefuseAsync(messageStreamId, "publish without a stream name", token).ConfigureAwait(false);
            return;
        }

        if (await _publish.TryStartAsync(_app!, name, token).ConfigureAwait(false) is { } refusal)
        {
            await RefuseAsync(messageStreamId, refusal, token).ConfigureAwait(false);
            return;
        }
        var stream = _publish.Stream!;
        _feed.Start(stream);
        _publishStreamId = messageStreamId;
        _state = RtmpConnectionState.Publishing;
        _limits.MarkPublished();
        // An authorized encoder: the larger budget, any number of interleaved chunk streams (audio, video, data), and a
        // message's whole declared length rented at once (no copying as a keyframe arrives).
        _memory.MarkPublished(_options.MemoryBudgetAfterPublish);
        _chunks.MaxBufferedBytes = _options.MemoryBudgetAfterPublish;
        _chunks.MaxPartialMessages = 0;
        _chunks.AllocateDeclaredLength = true;
        _receive?.CoalesceFromNowOn();
        _replies.SendControl(RtmpMessageType.UserControl, new UserControlMessage(UserControlEventType.StreamBegin, messageStreamId));
        _replies.SendCommand(messageStreamId, RtmpReplyWriter.StreamCommandChunkStream,
            RtmpReplies.OnStatus("status", RtmpStatusCodes.PublishStart, $"{stream.Name} is now published."));
        RtmpLog.PublishStarted(_logger, Id, _remote, _app!, stream.Name, _publish.Decision.ChannelId);
    }

    /// <summary>NetStream.Publish.BadName with the reason as description, then close (ffmpeg and OBS report the description).</summary>
    private async ValueTask RefuseAsync(uint messageStreamId, string reason, CancellationToken token)
    {
        _replies.SendCommand(messageStreamId, RtmpReplyWriter.StreamCommandChunkStream,
            RtmpReplies.OnStatus("error", RtmpStatusCodes.PublishBadName, reason));
        await _replies.FlushAsync(token).ConfigureAwait(false);
        RtmpLog.PublishBadName(_logger, Id, _remote, reason, _app, _publish.Decision.ChannelId);
        throw new RtmpCloseException(reason, logged: true);
    }

    /// <summary>Ends the publish, if any; <paramref name="sendStatus"/>: the encoder unpublished and is told so.</summary>
    private async ValueTask EndPublishAsync(bool sendStatus)
    {
        if (_publish.Stream is null) return;
        _feed.Stop();
        if (_state == RtmpConnectionState.Publishing) _state = RtmpConnectionState.Connected;
        await _publish.EndAsync(stoppedByPeer: sendStatus, _serverStopping, SendUnpublished).ConfigureAwait(false);
    }

    private void SendUnpublished(LiveStream stream) =>
        _replies.SendCommand(_publishStreamId, RtmpReplyWriter.StreamCommandChunkStream,
            RtmpReplies.OnStatus("status", RtmpStatusCodes.UnpublishSuccess, $"{stream.Name} is now unpublished."));

    /// <summary>Names from the wire go into logs; keep them short.</summary>
    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64];
}
