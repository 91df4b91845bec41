using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Broadcast.Media.Flv;
using Broadcast.Media;
using Broadcast.Media.Scte35;
using Microsoft.Extensions.Logging;

namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// One RTMP client: handshake, then the publish flow (connect → createStream → publish) and media into a
/// <see cref="LiveStream"/>. A protocol fault closes only this connection, with one log line naming the reason.
/// All writes happen on the connection's own read loop, so the output needs no lock.
/// </summary>
internal sealed class RtmpConnection
{
    private const int ControlChunkStream = 2;
    private const int CommandChunkStream = 3;
    private const int StreamCommandChunkStream = 5;

    /// <summary>
    /// The input pipe's pause threshold. The parser runs inline on the reading thread and consumes everything it is
    /// given, so the pipe fills only while the parser awaits (the publish authorizer); then the reading thread stops at
    /// this many bytes instead of the pump's default 1 MiB. Counted in the connection's memory budget.
    /// </summary>
    internal const int InputPauseBytes = 64 * 1024;

    private readonly Socket _socket;
    private readonly RtmpOptions _options;
    private readonly LiveStreamRegistry _registry;
    private readonly IPublishAuthorizer _authorizer;
    private readonly ILogger _logger;
    private readonly ChunkStreamReader _chunks;
    private readonly RtmpConnectionMemory _memory;
    private readonly ChunkStreamWriter _writer = new();
    private readonly ArrayBufferWriter<byte> _scratch = new(256);
    private readonly string _remote;
    private PipeReader _input = null!;
    private PipeWriter _output = null!;
    private CancellationTokenSource _timeout = null!;

    private long _bytesIn;
    private long _bytesAtLastAck;
    private uint _peerWindow;
    private uint _lastStreamId;
    private double _objectEncoding;
    private volatile RtmpConnectionState _state = RtmpConnectionState.Handshake;
    private string? _app;
    private PublishDecision _decision;
    private LiveStream? _stream;
    private LiveStream? _endedByServer;
    private FlvDemuxer? _demuxer;
    private uint _publishStreamId;
    private TimestampUnwrapper _audioClock;
    private TimestampUnwrapper _videoClock;
    private uint? _lastVideoTimestamp;
    private CueFloodGuard _cueFlood;
    private bool _serverStopping;
    private readonly RtmpAdmission _admission;
    private readonly long _startedMs = Environment.TickCount64;
    private bool _everPublished;
    private string _timeoutReason = "";
    private bool _timeoutIsSlowClient;

    public RtmpConnection(long id, Socket socket, RtmpOptions options, LiveStreamRegistry registry, IPublishAuthorizer authorizer, ILogger logger, DateTimeOffset connectedAt,
        RtmpAdmission admission, IPAddress address, RtmpMemoryBudget memory)
    {
        _admission = admission;
        Address = address;
        Id = id;
        _socket = socket;
        _options = options;
        _registry = registry;
        _authorizer = authorizer;
        _logger = logger;
        ConnectedAt = connectedAt;
        RemoteEndPoint = socket.RemoteEndPoint as IPEndPoint;
        _remote = RemoteEndPoint?.ToString() ?? "?";
        // Until a publish is accepted the peer is a stranger: a small budget, a few partial messages at a time, buffers
        // that grow only with the bytes that arrived, and only the message types its phase allows (IsAllowedNow).
        _memory = new RtmpConnectionMemory(memory, options.MemoryBudgetBeforePublish);
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

    /// <summary>How long a dropped publish waits for its encoder (<see cref="IngestOptions.ReconnectGraceSeconds"/>); zero ends it at once.</summary>
    internal TimeSpan ReconnectGrace { get; init; }

    public RtmpConnectionInfo Info => new(Id, _remote, _state, Interlocked.Read(ref _bytesIn), _app, _stream?.Name, _decision.ChannelId, ConnectedAt)
    {
        MemoryBytes = _memory.HeldBytes,
    };

    /// <summary>Why the loop stops: a reason to log once, or null when the peer simply left.</summary>
    private sealed class CloseException(string reason, bool logged = false, bool slowClient = false, bool memoryBudget = false) : Exception(reason)
    {
        public bool Logged { get; } = logged;

        public bool SlowClient { get; } = slowClient;

        public bool MemoryBudget { get; } = memoryBudget;
    }

    /// <summary>Wraps the socket before the RTMP handshake (RTMPS: TLS); null runs RTMP on the socket itself.</summary>
    internal IRtmpTransport? Transport { get; init; }

    public async Task RunAsync(CancellationToken serverStopping)
    {
        await using var network = Transport is null ? new NetworkStream(_socket, ownsSocket: true) : await Transport.OpenAsync(_socket, Id, _remote, serverStopping).ConfigureAwait(false);
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
        _input = BlockingReadPump.Start(network, $"rtmp-{Id}", ReceiveCoalescing.IsIdleTimeout, InputPauseBytes);
        _output = PipeWriter.Create(new SynchronousWriteStream(network), new StreamPipeWriterOptions(leaveOpen: true));
        _timeout = CancellationTokenSource.CreateLinkedTokenSource(serverStopping);
        var token = _timeout.Token;
        try
        {
            ArmTimeout(TimeSpan.FromSeconds(_options.HandshakeTimeoutSeconds), $"handshake not completed within {_options.HandshakeTimeoutSeconds} s");
            await HandshakeAsync(token).ConfigureAwait(false);
            _state = RtmpConnectionState.Connected;
            await ReadMessagesAsync(token).ConfigureAwait(false);
        }
        catch (CloseException close) when (close.MemoryBudget)
        {
            _admission.Counters.OnMemoryBudget();
            RtmpLog.MemoryBudgetExceeded(_logger, Id, _remote, close.Message, _state, _app, _decision.ChannelId);
        }
        catch (CloseException close) when (close.SlowClient)
        {
            _admission.Counters.OnSlowClient();
            RtmpLog.SlowClient(_logger, Id, _remote, close.Message);
        }
        catch (CloseException close)
        {
            if (!close.Logged) RtmpLog.ProtocolError(_logger, Id, _remote, close.Message, _app, _decision.ChannelId);
        }
        catch (OperationCanceledException) when (_endedByServer is { } ended)
        {
            RtmpLog.EndedByServer(_logger, Id, _remote, ended.Name, _decision.ChannelId);
        }
        catch (OperationCanceledException) when (!serverStopping.IsCancellationRequested)
        {
            if (!_everPublished) _admission.Counters.OnSlowClient();
            if (_timeoutIsSlowClient) RtmpLog.SlowClient(_logger, Id, _remote, _timeoutReason);
            else RtmpLog.ProtocolError(_logger, Id, _remote, _timeoutReason, _app, _decision.ChannelId);
        }
        catch (OperationCanceledException)
        {
            // server shutting down
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            RtmpLog.Closed(_logger, Id, _remote, Interlocked.Read(ref _bytesIn));
        }
        catch (Exception ex)
        {
            RtmpLog.Failed(_logger, ex, Id, _remote, _app, _decision.ChannelId);
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
            _memory.Dispose();
            try
            {
                await _output.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
            }
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
            CheckSlowClient(buffer.Length);
            ChargeInput(buffer.Length);
            long before = buffer.Length;
            var status = handshake.TryAdvance(ref buffer, _output, (uint)Environment.TickCount64);
            AddBytesIn(before - buffer.Length);
            // Once done, bytes after C2 are the chunk stream: leave them unexamined so the next read returns them.
            if (status == ServerHandshake.Status.Done) _input.AdvanceTo(buffer.Start);
            else _input.AdvanceTo(buffer.Start, buffer.End);
            if (status == ServerHandshake.Status.Error) throw new CloseException(handshake.Error!);
            if (_output.UnflushedBytes > 0) await FlushAsync(token).ConfigureAwait(false);
            if (status == ServerHandshake.Status.Done) break;
            if (result.IsCompleted) throw new CloseException("connection ended during the handshake");
        }
        RtmpLog.HandshakeDone(_logger, Id, _remote, handshake.Scheme);
    }

    private async Task ReadMessagesAsync(CancellationToken token)
    {
        var idle = TimeSpan.FromSeconds(_options.IdleTimeoutSeconds);
        while (true)
        {
            ArmTimeout(idle, $"idle for {_options.IdleTimeoutSeconds} s");
            var result = await _input.ReadAsync(token).ConfigureAwait(false);
            var buffer = result.Buffer;
            CheckSlowClient(buffer.Length);
            ChargeInput(buffer.Length);
            long before = buffer.Length;
            ChunkReadStatus status;
            try
            {
                while ((status = _chunks.TryRead(ref buffer, out var message)) == ChunkReadStatus.Message)
                {
                    if (message.TypeId is RtmpMessageType.Audio or RtmpMessageType.Video) HandleMedia(message.TypeId, message.Timestamp, message.Payload.Span);
                    else await HandleMessageAsync(message, token).ConfigureAwait(false);
                }
            }
            finally
            {
                AddBytesIn(before - buffer.Length);
                _input.AdvanceTo(buffer.Start, buffer.End);
            }
            ChargeInput(buffer.Length); // what is left of the read: a partial chunk header at most
            if (status == ChunkReadStatus.Error) throw ChunkError();
            if (_peerWindow > 0 && _bytesIn - _bytesAtLastAck >= _peerWindow)
            {
                // §5.4.3: acknowledge after every window's worth of bytes, with the running total (wrapping at 2^32).
                _bytesAtLastAck = _bytesIn;
                SendControl(RtmpMessageType.Acknowledgement, new Acknowledgement((uint)_bytesIn));
            }
            if (_output.UnflushedBytes > 0) await FlushAsync(token).ConfigureAwait(false);
            if (result.IsCompleted)
            {
                if (buffer.Length > 0 || _chunks.HasPartialMessage) throw new CloseException("connection ended inside a chunk");
                RtmpLog.Closed(_logger, Id, _remote, Interlocked.Read(ref _bytesIn));
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
        if (_app is null) return typeId is >= RtmpMessageType.SetChunkSize and <= RtmpMessageType.SetPeerBandwidth or RtmpMessageType.CommandAmf0 or RtmpMessageType.CommandAmf3;
        if (_demuxer is null) return typeId is not (RtmpMessageType.Audio or RtmpMessageType.Video or RtmpMessageType.Aggregate);
        return true;
    }

    /// <summary>The exception that closes the connection for the reader's error, with a reason for the log.</summary>
    private CloseException ChunkError()
    {
        byte type = _chunks.RejectedTypeId;
        return _chunks.Error switch
        {
            ChunkReadError.MessageTypeNotAllowed when _app is null => new CloseException($"{TypeName(type)} message (type {type}) before connect"),
            ChunkReadError.MessageTypeNotAllowed => new CloseException($"{TypeName(type)} before publish"),
            ChunkReadError.MessageTooLarge => new CloseException($"chunk stream error: MessageTooLarge ({TypeName(type)} message of {_chunks.RejectedLength} bytes, above Rtmp:MaxMessageSize {_options.MaxMessageSize})"),
            ChunkReadError.TooManyPartialMessages => new CloseException(
                $"a message on a chunk stream while {_chunks.PartialMessages} others hold partial messages before publish (Rtmp:MaxPartialMessagesBeforePublish {_chunks.MaxPartialMessages})",
                memoryBudget: true),
            ChunkReadError.TooMuchBufferedData => new CloseException(
                $"a {TypeName(type)} message declaring {_chunks.RejectedLength} bytes while {_chunks.BufferedBytes} bytes are being reassembled, above the budget of {_chunks.MaxBufferedBytes} bytes ({_memory.LimitKey})",
                memoryBudget: true),
            ChunkReadError.BufferRefused => new CloseException(_memory.Refusal ?? "reassembly buffer refused", memoryBudget: true),
            _ => new CloseException($"chunk stream error: {_chunks.Error}"),
        };
    }

    private static string TypeName(byte typeId) => typeId switch
    {
        RtmpMessageType.SetChunkSize => "set chunk size",
        RtmpMessageType.Abort => "abort",
        RtmpMessageType.Acknowledgement => "acknowledgement",
        RtmpMessageType.UserControl => "user control",
        RtmpMessageType.WindowAcknowledgementSize => "window acknowledgement size",
        RtmpMessageType.SetPeerBandwidth => "set peer bandwidth",
        RtmpMessageType.Audio => "audio",
        RtmpMessageType.Video => "video",
        RtmpMessageType.DataAmf0 or RtmpMessageType.DataAmf3 => "data",
        RtmpMessageType.SharedObjectAmf0 or RtmpMessageType.SharedObjectAmf3 => "shared object",
        RtmpMessageType.CommandAmf0 or RtmpMessageType.CommandAmf3 => "command",
        RtmpMessageType.Aggregate => "aggregate",
        _ => "unknown",
    };

    /// <summary>Charges the received bytes not consumed yet to the connection's memory budget.</summary>
    private void ChargeInput(long pending)
    {
        if (!_memory.TrySetInput(pending)) throw new CloseException(_memory.Refusal!, memoryBudget: true);
    }

    private void HandleMedia(byte typeId, uint timestamp, ReadOnlySpan<byte> payload)
    {
        if (_demuxer is null) throw new CloseException(typeId == RtmpMessageType.Audio ? "audio before publish" : "video before publish");
        string? error;
        bool ok = typeId == RtmpMessageType.Audio
            ? _demuxer.TryWriteAudio(_audioClock.Unwrap(timestamp), payload, out error)
            : _demuxer.TryWriteVideo(_videoClock.Unwrap(timestamp), payload, out error);
        if (typeId == RtmpMessageType.Video) _lastVideoTimestamp = timestamp;
        if (!ok) throw new CloseException($"invalid {(typeId == RtmpMessageType.Audio ? "audio" : "video")} message: {error}");
    }

    /// <summary>
    /// An encoder's ad cue point: the break is asked of the stream's packager at the message's place among the frames (the
    /// newest video frame's stream time plus how far the cue's timestamp is past that frame's, plus its pre-roll). One the
    /// service cannot use is logged and dropped; it is no reason to close a publisher.
    /// </summary>
    private void HandleCuePoint(LiveStream stream, RtmpDataMessage data, uint timestamp)
    {
        if (!_cueFlood.Admit(timestamp, out bool firstDrop))
        {
            if (firstDrop) RtmpLog.CuePointRefused(_logger, Id, _remote, stream.Name, "cue points closer than one second apart are dropped", _decision.ChannelId);
            return;
        }
        if (!RtmpCuePoint.TryRead(data, out var cue, out var refusal))
        {
            if (refusal is not null) RtmpLog.CuePointRefused(_logger, Id, _remote, stream.Name, refusal, _decision.ChannelId);
            return;
        }
        long ahead = _lastVideoTimestamp is uint last ? unchecked((int)(timestamp - last)) : 0;
        long delayMs = Math.Clamp(ahead, 0, RtmpCuePoint.MaxPreRollMs) + cue.PreRollMs;
        long? at = stream.LastVideoTime is long t ? t + Timescales.Rescale(delayMs, Timescales.Milliseconds, Timescales.Video) : null;
        uint id = cue.EventId ?? (uint)Random.Shared.NextInt64(1, uint.MaxValue);
        bool packaged = stream.InsertCue(new SpliceCue(id, at, Timescales.Rescale(cue.DurationMs, Timescales.Milliseconds, Timescales.Video), cue.Section, "rtmp"));
        RtmpLog.CuePoint(_logger, Id, _remote, stream.Name, id, cue.DurationMs, delayMs, packaged, _decision.ChannelId);
    }

    private async ValueTask HandleMessageAsync(RtmpMessage message, CancellationToken token)
    {
        var payload = message.Payload.Span;
        switch (message.TypeId)
        {
            case RtmpMessageType.SetChunkSize:
            case RtmpMessageType.Abort:
                return; // applied by the chunk reader
            case RtmpMessageType.Acknowledgement:
            case RtmpMessageType.SetPeerBandwidth:
                return;
            case RtmpMessageType.WindowAcknowledgementSize:
                if (!WindowAcknowledgementSize.TryRead(payload, out var window, out _)) throw new CloseException("malformed Window Acknowledgement Size");
                _peerWindow = window.Size;
                return;
            case RtmpMessageType.UserControl:
                if (!UserControlMessage.TryRead(payload, out var control, out _)) throw new CloseException("malformed User Control message");
                if (control.EventType == UserControlEventType.PingRequest)
                    SendControl(RtmpMessageType.UserControl, new UserControlMessage(UserControlEventType.PingResponse, control.Value));
                return;
            case RtmpMessageType.CommandAmf0:
            case RtmpMessageType.CommandAmf3:
            {
                if (!RtmpCommand.TryRead(payload, message.TypeId == RtmpMessageType.CommandAmf3, out var command, out _, out var amfError))
                    throw new CloseException($"malformed AMF in command message: {amfError}");
                await HandleCommandAsync(command!, message.MessageStreamId, token).ConfigureAwait(false);
                return;
            }
            case RtmpMessageType.DataAmf0:
            case RtmpMessageType.DataAmf3:
            {
                if (!RtmpDataMessage.TryRead(payload, message.TypeId == RtmpMessageType.DataAmf3, out var data, out var amfError))
                    throw new CloseException($"malformed AMF in data message: {amfError}");
                if (_demuxer is not null && data!.TryGetMetadata(out var metadata)) _demuxer.SetMetadata(metadata);
                else if (_stream is not null && data!.Name == RtmpCuePoint.OnCuePoint) HandleCuePoint(_stream, data, message.Timestamp);
                return;
            }
            case RtmpMessageType.Aggregate:
                HandleAggregate(message.Timestamp, payload);
                return;
            default:
                // Shared objects and types this server has no use for: harmless, ignored.
                RtmpLog.IgnoredMessage(_logger, Id, message.TypeId);
                return;
        }
    }

    /// <summary>
    /// Aggregate message (§7.1.6): FLV-style sub-messages (type, size, timestamp, stream id, body, back pointer).
    /// Sub-message timestamps are shifted so the first one equals the aggregate's timestamp.
    /// </summary>
    private void HandleAggregate(uint timestamp, ReadOnlySpan<byte> payload)
    {
        bool first = true;
        uint baseTimestamp = 0;
        while (!payload.IsEmpty)
        {
            if (payload.Length < 11) throw new CloseException("truncated aggregate message");
            byte type = payload[0];
            int size = (int)ChunkHeader.ReadUInt24(payload[1..]);
            uint ts = ChunkHeader.ReadUInt24(payload[4..]) | (uint)payload[7] << 24;
            if (payload.Length < 11 + size + 4) throw new CloseException("truncated aggregate message");
            if (first)
            {
                baseTimestamp = ts;
                first = false;
            }
            var body = payload.Slice(11, size);
            if (type is RtmpMessageType.Audio or RtmpMessageType.Video) HandleMedia(type, timestamp + (ts - baseTimestamp), body);
            payload = payload[(11 + size + 4)..];
        }
    }

    private async ValueTask HandleCommandAsync(RtmpCommand command, uint messageStreamId, CancellationToken token)
    {
        if (command.Name != RtmpCommandNames.Connect && _app is null)
            throw new CloseException($"command {Truncate(command.Name)} before connect");
        switch (command.Name)
        {
            case RtmpCommandNames.Connect:
                HandleConnect(command);
                return;
            case RtmpCommandNames.CreateStream:
                _lastStreamId++;
                SendCommand(0, CommandChunkStream, RtmpReplies.Result(command.TransactionId, (double)_lastStreamId));
                return;
            case RtmpCommandNames.ReleaseStream:
                SendCommand(0, CommandChunkStream, RtmpReplies.Result(command.TransactionId, AmfUndefined.Value));
                return;
            case RtmpCommandNames.FCPublish:
                SendCommand(0, CommandChunkStream, RtmpReplies.OnFCPublish(RtmpStatusCodes.PublishStart, "FCPublish"));
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
        if (_app is not null) throw new CloseException("connect sent twice");
        string? app = command.GetProperty("app");
        if (app is null) throw new CloseException("connect without an app");
        // "live?token=…" and "live/" both mean app "live".
        int query = app.IndexOf('?');
        if (query >= 0) app = app[..query];
        app = app.Trim('/');
        if (app.Length == 0) throw new CloseException("connect with an empty app");
        _app = Truncate(app);
        _objectEncoding = command.CommandObject is AmfObject obj && obj.TryGetValue("objectEncoding", out var enc) && enc is double d ? d : 0;

        uint window = (uint)_options.WindowAcknowledgementSize;
        SendControl(RtmpMessageType.WindowAcknowledgementSize, new WindowAcknowledgementSize(window));
        SendControl(RtmpMessageType.SetPeerBandwidth, new SetPeerBandwidth(window, PeerBandwidthLimit.Dynamic));
        int chunkSize = Math.Clamp(_options.ChunkSize, 128, 65536);
        SendControl(RtmpMessageType.SetChunkSize, new SetChunkSize((uint)chunkSize));
        _writer.ChunkSize = chunkSize;
        SendCommand(0, CommandChunkStream, RtmpReplies.ConnectResult(command.TransactionId, _objectEncoding));
    }

    private async ValueTask HandlePublishAsync(RtmpCommand command, uint messageStreamId, CancellationToken token)
    {
        if (_stream is not null) throw new CloseException("publish sent twice");
        string? name = command.FirstStringArgument;
        int query = name?.IndexOf('?') ?? -1;
        if (query >= 0) name = name![..query];
        if (string.IsNullOrEmpty(name))
        {
            await RefuseAsync(messageStreamId, "publish without a stream name", token).ConfigureAwait(false);
            return;
        }

        if (_admission.IsPublishBlocked(Address, out int blockedFailures, out var blockLeft))
        {
            RtmpLog.PublishBlocked(_logger, Id, _remote, blockedFailures, (int)Math.Ceiling(blockLeft.TotalSeconds));
            await RefuseAsync(messageStreamId, "too many refused stream keys from this address: try again later", token).ConfigureAwait(false);
            return;
        }
        var decision = await _authorizer.AuthorizeAsync(new PublishRequest(_app!, name, RemoteEndPoint), token).ConfigureAwait(false);
        if (!decision.Allowed && decision.KeyRejected && _admission.RecordFailedPublish(Address, out int failures))
            RtmpLog.AddressBlocked(_logger, Address.ToString(), failures, _options.FailedPublishWindowSeconds, _options.FailedPublishBlockSeconds);
        if (!decision.Allowed || string.IsNullOrEmpty(decision.StreamName))
        {
            await RefuseAsync(messageStreamId, decision.Reason ?? "publish not allowed", token).ConfigureAwait(false);
            return;
        }
        _decision = decision;
        if (!_registry.TryStartPublish(decision.StreamName, out var stream))
        {
            await RefuseAsync(messageStreamId, "already publishing", token).ConfigureAwait(false);
            return;
        }
        stream.Tag = decision.ChannelId;
        _stream = stream;
        stream.Completed += OnStreamCompleted;
        _demuxer = new FlvDemuxer(stream);
        _publishStreamId = messageStreamId;
        _state = RtmpConnectionState.Publishing;
        _everPublished = true;
        // An authorized encoder: the larger budget, any number of interleaved chunk streams (audio, video, data), and a
        // message's whole declared length rented at once (no copying as a keyframe arrives).
        _memory.MarkPublished(_options.MemoryBudgetAfterPublish);
        _chunks.MaxBufferedBytes = _options.MemoryBudgetAfterPublish;
        _chunks.MaxPartialMessages = 0;
        _chunks.AllocateDeclaredLength = true;
        if (Transport is null && OperatingSystem.IsLinux()) ReceiveCoalescing.Apply(_socket);
        SendControl(RtmpMessageType.UserControl, new UserControlMessage(UserControlEventType.StreamBegin, messageStreamId));
        SendCommand(messageStreamId, StreamCommandChunkStream, RtmpReplies.OnStatus("status", RtmpStatusCodes.PublishStart, $"{stream.Name} is now published."));
        RtmpLog.PublishStarted(_logger, Id, _remote, _app!, stream.Name, decision.ChannelId);
    }

    /// <summary>
    /// The stream ended while this encoder still publishes it: the server ended the broadcast (a scheduled event
    /// closed, an admin stopped it). Close the connection so the encoder stops sending and its operator sees it.
    /// </summary>
    private void OnStreamCompleted(LiveStream stream)
    {
        stream.Completed -= OnStreamCompleted;
        if (!ReferenceEquals(Volatile.Read(ref _stream), stream)) return;
        _endedByServer = stream;
        Abort();
    }

    /// <summary>NetStream.Publish.BadName with the reason as description, then close (ffmpeg and OBS report the description).</summary>
    private async ValueTask RefuseAsync(uint messageStreamId, string reason, CancellationToken token)
    {
        SendCommand(messageStreamId, StreamCommandChunkStream, RtmpReplies.OnStatus("error", RtmpStatusCodes.PublishBadName, reason));
        await FlushAsync(token).ConfigureAwait(false);
        RtmpLog.PublishBadName(_logger, Id, _remote, reason, _app, _decision.ChannelId);
        throw new CloseException(reason, logged: true);
    }

    private async ValueTask EndPublishAsync(bool sendStatus)
    {
        var stream = _stream;
        if (stream is null) return;
        stream.Completed -= OnStreamCompleted;
        _stream = null;
        _demuxer = null;
        if (_state == RtmpConnectionState.Publishing) _state = RtmpConnectionState.Connected;
        // A dropped connection (no unpublish command, not ended by the server, not a shutdown) may come back: the
        // broadcast waits for the grace period instead of ending.
        bool dropped = !sendStatus && _endedByServer is null && !_serverStopping;
        if (dropped && _registry.Interrupt(stream, ReconnectGrace))
        {
            RtmpLog.PublishInterrupted(_logger, Id, _remote, stream.Name, (int)ReconnectGrace.TotalSeconds, _decision.ChannelId);
            EndAfterGrace(stream);
            return;
        }

        // A stop on purpose that the authorizer holds (inside a scheduled event) waits like a drop, for as long as it says.
        if (sendStatus && _endedByServer is null && !_serverStopping && await HoldAfterStopAsync().ConfigureAwait(false) is { } hold
            && _registry.Interrupt(stream, hold))
        {
            RtmpLog.PublishHeldAfterStop(_logger, Id, _remote, stream.Name, (int)hold.TotalSeconds, _decision.ChannelId);
            SendCommand(_publishStreamId, StreamCommandChunkStream, RtmpReplies.OnStatus("status", RtmpStatusCodes.UnpublishSuccess, $"{stream.Name} is now unpublished."));
            EndAfterGrace(stream);
            return;
        }
        _registry.EndPublish(stream);
        RtmpLog.PublishEnded(_logger, Id, _remote, stream.Name, _app, _decision.ChannelId);
        if (sendStatus) SendCommand(_publishStreamId, StreamCommandChunkStream, RtmpReplies.OnStatus("status", RtmpStatusCodes.UnpublishSuccess, $"{stream.Name} is now unpublished."));
        await PublishGrace.NotifyUnpublishedAsync(_authorizer, _decision, ex => RtmpLog.Failed(_logger, ex, Id, _remote, _app, _decision.ChannelId)).ConfigureAwait(false);
    }

    private async ValueTask<TimeSpan?> HoldAfterStopAsync()
    {
        try
        {
            return await _authorizer.HoldAfterStopAsync(_decision, CancellationToken.None).ConfigureAwait(false) is { } hold && hold > TimeSpan.Zero ? hold : null;
        }
        catch (Exception ex)
        {
            // Not knowing is no reason to keep a broadcast open: it ends as a stop always did.
            RtmpLog.Failed(_logger, ex, Id, _remote, _app, _decision.ChannelId);
            return null;
        }
    }

    /// <summary>
    /// When the grace of a dropped publish runs out with no encoder back, the publish ends exactly as an unpublish would:
    /// logged, and the authorizer told (schedules, live state).
    /// </summary>
    private void EndAfterGrace(LiveStream stream)
    {
        var decision = _decision;
        string app = _app ?? "";
        PublishGrace.WhenExpired(stream, completed =>
        {
            RtmpLog.ReconnectGraceExpired(_logger, Id, _remote, completed.Name, app, decision.ChannelId);
            _ = PublishGrace.NotifyUnpublishedAsync(_authorizer, decision, ex => RtmpLog.Failed(_logger, ex, Id, _remote, app, decision.ChannelId));
        });
    }

    private void SendControl<T>(byte typeId, T message) where T : struct
    {
        _scratch.ResetWrittenCount();
        switch (message)
        {
            case WindowAcknowledgementSize w: w.Write(_scratch); break;
            case SetPeerBandwidth b: b.Write(_scratch); break;
            case SetChunkSize c: c.Write(_scratch); break;
            case Acknowledgement a: a.Write(_scratch); break;
            case UserControlMessage u: u.Write(_scratch); break;
            default: throw new ArgumentException("Not a protocol control message.", nameof(message));
        }
        _writer.Write(_output, ControlChunkStream, typeId, 0, 0, _scratch.WrittenSpan);
    }

    private void SendCommand(uint messageStreamId, int chunkStreamId, RtmpCommand command)
    {
        _scratch.ResetWrittenCount();
        command.Write(_scratch);
        _writer.Write(_output, chunkStreamId, RtmpMessageType.CommandAmf0, 0, messageStreamId, _scratch.WrittenSpan);
    }

    private async ValueTask FlushAsync(CancellationToken token)
    {
        if (!_memory.TrySetOutput(_output.UnflushedBytes)) throw new CloseException(_memory.Refusal!, memoryBudget: true);
        var flush = await _output.FlushAsync(token).ConfigureAwait(false);
        _memory.TrySetOutput(0);
        if (flush.IsCompleted) throw new IOException("peer closed");
    }

    private void AddBytesIn(long count) => Interlocked.Add(ref _bytesIn, count);

    /// <summary>
    /// Arms the timeout of the next wait: the phase's own limit, cut short by Rtmp:PublishTimeoutSeconds (counted from
    /// accept) while the connection has not published yet. The reason is what the close logs.
    /// </summary>
    private void ArmTimeout(TimeSpan limit, string reason)
    {
        _timeoutReason = reason;
        _timeoutIsSlowClient = false;
        if (!_everPublished && _options.PublishTimeoutSeconds > 0)
        {
            var left = TimeSpan.FromMilliseconds(_startedMs + _options.PublishTimeoutSeconds * 1000L - Environment.TickCount64);
            if (left <= limit)
            {
                limit = left > TimeSpan.Zero ? left : TimeSpan.Zero;
                _timeoutReason = $"not publishing within {_options.PublishTimeoutSeconds} s of connecting (Rtmp:PublishTimeoutSeconds)";
                _timeoutIsSlowClient = true;
            }
        }
        _timeout.CancelAfter(limit);
    }

    /// <summary>
    /// Slowloris: before its first publish, a connection must keep up an average of Rtmp:MinBytesPerSecondBeforePublish
    /// since accept (after a short grace). <paramref name="pending"/> counts bytes received and not yet consumed.
    /// </summary>
    private void CheckSlowClient(long pending)
    {
        if (_everPublished || _options.MinBytesPerSecondBeforePublish <= 0) return;
        long elapsedMs = Environment.TickCount64 - _startedMs;
        if (elapsedMs < _options.SlowClientGraceSeconds * 1000L) return;
        long received = Interlocked.Read(ref _bytesIn) + pending;
        if (received * 1000 >= (long)_options.MinBytesPerSecondBeforePublish * elapsedMs) return;
        throw new CloseException(
            $"{received} bytes in {elapsedMs / 1000.0:F1} s before publishing, below {_options.MinBytesPerSecondBeforePublish} bytes/s (Rtmp:MinBytesPerSecondBeforePublish)",
            slowClient: true);
    }

    /// <summary>Names from the wire go into logs; keep them short.</summary>
    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64];
}
