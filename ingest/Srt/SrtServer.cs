using System.Collections.Concurrent;
using System.Net;
using System.Runtime.InteropServices;
using Broadcast.Ingest.Rtmp;
using Broadcast.Media;
using Broadcast.Media.MpegTs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Broadcast.Ingest.Srt;

/// <summary>
/// The SRT ingest listener: one libsrt listener socket on <see cref="SrtOptions.Port"/> (UDP), many publishers.
/// Callers are screened in libsrt's listen callback, before the handshake completes and before any media flows: the
/// stream id (<see cref="SrtStreamId"/>), the address's key-guessing block, the stream key (<see cref="IPublishAuthorizer"/>)
/// and a broadcast already live under that name are refused there with an SRT reject code the encoder shows. One
/// receive thread waits on an SRT epoll for every socket (the listener's accepts and each publisher's data) and feeds
/// each publisher's MPEG-TS to its own <see cref="MpegTsDemuxer"/>, which writes the frames into the channel's
/// <see cref="LiveStream"/> exactly as an RTMP publish does (Opus audio becomes AAC through an <see cref="OpusToAacTranscoder"/>);
/// SCTE-35 on the program's splice PID asks that stream for ad
/// breaks. Malformed TS closes that one connection with a reason (a malformed SCTE-35 section is only logged).
/// SRT has no "stop publishing" message, so every end of a connection is treated as a drop: the broadcast waits
/// <see cref="IngestOptions.ReconnectGraceSeconds"/> for the encoder to come back (<see cref="PublishGrace"/>).
/// </summary>
public sealed unsafe class SrtServer : IHostedService, IAsyncDisposable
{
    /// <summary>The longest the listen callback waits for the authorizer: it runs on libsrt's receive thread for the port.</summary>
    private static readonly TimeSpan AuthorizeTimeout = TimeSpan.FromSeconds(2);

    /// <summary>An SRT live-mode message is at most 1456 bytes (SRTO_PAYLOADSIZE's ceiling); 1316 = 7 TS packets usually.</summary>
    private const int MessageCapacity = 1500;

    private readonly SrtOptions _options;
    private readonly RtmpOptions _limits;
    private readonly LiveStreamRegistry _registry;
    private readonly IPublishAuthorizer _authorizer;
    private readonly ILogger _logger;
    private readonly RtmpAdmission _admission;
    private readonly TimeSpan _reconnectGrace;
    private readonly TimeSpan _takeoverSilence;
    private readonly ConcurrentDictionary<int, Screened> _screened = new();
    private readonly Dictionary<int, SrtConnection> _publishers = new(); // receive thread only
    private readonly ConcurrentQueue<int> _endedByServer = new();
    private readonly ConcurrentQueue<int> _takenOver = new();
    private int _publisherCount;
    private long _lastId;
    private volatile bool _stopping;
    private int _listener = LibSrt.InvalidSocket;
    private int _epoll = -1;
    private GCHandle _self;
    private Thread? _thread;

    public SrtServer(IOptions<SrtOptions> options, IOptions<RtmpOptions> limits, LiveStreamRegistry registry, IPublishAuthorizer authorizer,
        ILogger<SrtServer> logger, TimeProvider? time = null, IOptions<IngestOptions>? ingest = null)
    {
        _options = options.Value;
        _limits = limits.Value;
        _registry = registry;
        _authorizer = authorizer;
        _logger = logger;
        _admission = new RtmpAdmission(_limits, time ?? TimeProvider.System);
        _reconnectGrace = TimeSpan.FromSeconds(Math.Max(0, ingest?.Value.ReconnectGraceSeconds ?? 0));
        _takeoverSilence = TimeSpan.FromMilliseconds(Math.Max(0, ingest?.Value.TakeoverSilenceMilliseconds ?? 0));
    }

    /// <summary>The bound UDP endpoint once started; null before.</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    /// <summary>Connections publishing now.</summary>
    public int Publishers => Volatile.Read(ref _publisherCount);

    /// <summary>How often the per-address and key-guessing limits were hit (the same limits as RTMP's, counted apart).</summary>
    public RtmpLimitCounters Limits => _admission.Counters;

    /// <summary>What the listen callback decided for a socket libsrt is about to hand to accept.</summary>
    private sealed record Screened(PublishDecision Decision, SrtStreamId StreamId, long At);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (LibSrt.TryLoad() is { } missing) throw new InvalidOperationException($"Srt:Port is set but SRT cannot start: {missing}.");
        var address = IPAddress.Parse(_options.BindAddress ?? _limits.BindAddress);
        int listener = LibSrt.srt_create_socket();
        if (listener == LibSrt.InvalidSocket) throw new InvalidOperationException("srt_create_socket failed: " + LibSrt.LastError());
        try
        {
            Configure(listener);
            _self = GCHandle.Alloc(this);
            Check(LibSrt.srt_listen_callback(listener, &OnListen, GCHandle.ToIntPtr(_self)), "srt_listen_callback");
            byte* sockaddr = stackalloc byte[LibSrt.SockaddrCapacity];
            int length = LibSrt.WriteSockaddr(new IPEndPoint(address, _options.Port ?? 0), new Span<byte>(sockaddr, LibSrt.SockaddrCapacity));
            Check(LibSrt.srt_bind(listener, sockaddr, length), $"binding UDP {address}:{_options.Port}");
            Check(LibSrt.srt_listen(listener, 64), "srt_listen");
            length = LibSrt.SockaddrCapacity;
            Check(LibSrt.srt_getsockname(listener, sockaddr, &length), "srt_getsockname");
            LocalEndPoint = LibSrt.ReadSockaddr(sockaddr);
            _epoll = LibSrt.srt_epoll_create();
            if (_epoll < 0) throw new InvalidOperationException("srt_epoll_create failed: " + LibSrt.LastError());
            LibSrt.srt_epoll_set(_epoll, LibSrt.SRT_EPOLL_ENABLE_EMPTY);
            int events = LibSrt.SRT_EPOLL_IN | LibSrt.SRT_EPOLL_ERR;
            Check(LibSrt.srt_epoll_add_usock(_epoll, listener, &events), "srt_epoll_add_usock");
        }
        catch
        {
            LibSrt.srt_close(listener);
            if (_epoll >= 0) LibSrt.srt_epoll_release(_epoll);
            if (_self.IsAllocated) _self.Free();
            throw;
        }
        _listener = listener;
        SrtLog.Listening(_logger, LocalEndPoint?.ToString() ?? "?", _options.LatencyMs,
            string.IsNullOrEmpty(_options.Passphrase) ? "off" : $"AES-{(_options.KeyLength == 0 ? 128 : _options.KeyLength * 8)}");
        _thread = new Thread(ReceiveLoop) { IsBackground = true, Name = "srt-receive" };
        _thread.Start();
        return Task.CompletedTask;
    }

    /// <summary>Listener options; accepted sockets inherit them (non-blocking, latency, encryption).</summary>
    private void Configure(int socket)
    {
        Check(LibSrt.SetInt(socket, LibSrt.SRTO_RCVSYN, 0), "SRTO_RCVSYN");
        Check(LibSrt.SetInt(socket, LibSrt.SRTO_SNDSYN, 0), "SRTO_SNDSYN");
        Check(LibSrt.SetInt(socket, LibSrt.SRTO_LATENCY, _options.LatencyMs), "SRTO_LATENCY (Srt:LatencyMs)");
        if (!string.IsNullOrEmpty(_options.Passphrase))
        {
            Check(LibSrt.SetString(socket, LibSrt.SRTO_PASSPHRASE, _options.Passphrase), "SRTO_PASSPHRASE (Srt:Passphrase: 10 to 79 characters)");
            if (_options.KeyLength != 0) Check(LibSrt.SetInt(socket, LibSrt.SRTO_PBKEYLEN, _options.KeyLength),
                "SRTO_PBKEYLEN (Srt:KeyLength: 16, 24 or 32)");
        }
    }

    private static void Check(int result, string what)
    {
        if (result < 0) throw new InvalidOperationException($"SRT: {what} failed: {LibSrt.LastError()}");
    }

    [UnmanagedCallersOnly]
    private static int OnListen(nint opaque, int socket, int handshakeVersion, byte* peer, byte* streamId)
    {
        try
        {
            var server = (SrtServer)GCHandle.FromIntPtr(opaque).Target!;
            var remote = LibSrt.ReadSockaddr(peer);
            var text = streamId is null ? default : MemoryMarshal.CreateReadOnlySpanFromNullTerminated(streamId);
            int reject = server.Screen(socket, handshakeVersion, remote, text);
            if (reject == 0) return 0;
            LibSrt.srt_setrejectreason(socket, reject);
            return -1;
        }
        catch
        {
            return -1; // nothing may escape into libsrt's thread
        }
    }

    /// <summary>
    /// Decides on a caller during its handshake (libsrt's receive thread for this port: kept short). Returns 0 to let it
    /// in, or the reject code it will see.
    /// </summary>
    private int Screen(int socket, int handshakeVersion, IPEndPoint? remote, ReadOnlySpan<byte> streamIdText)
    {
        string remoteText = remote?.ToString() ?? "?";
        int Refuse(int code, string reason)
        {
            SrtLog.Refused(_logger, remoteText, code, reason);
            return code;
        }
        if (_stopping) return LibSrt.SRT_REJX_UNAVAILABLE;
        if (handshakeVersion < 5) return Refuse(LibSrt.SRT_REJX_BAD_REQUEST, "the caller's SRT is older than 1.3 and sends no stream id");
        if (!SrtStreamId.TryParse(streamIdText, out var id, out var error)) return Refuse(LibSrt.SRT_REJX_BAD_REQUEST, error!);
        if (Volatile.Read(ref _publisherCount) + _screened.Count >= _limits.MaxConnections)
            return Refuse(LibSrt.SRT_REJX_TOO_MANY, $"{_limits.MaxConnections} connections already open (Rtmp:MaxConnections)");
        var address = Unmapped(remote);
        if (_admission.IsPublishBlocked(address, out int failures, out var left))
            return Refuse(LibSrt.SRT_REJX_FORBIDDEN,
                $"address blocked after {failures} refused stream keys ({(int)Math.Ceiling(left.TotalSeconds)} s left)");

        PublishDecision decision;
        try
        {
            using var timeout = new CancellationTokenSource(AuthorizeTimeout);
            decision = _authorizer.AuthorizeAsync(new PublishRequest(id.App, id.StreamKey, remote, "srt"), timeout.Token).AsTask()
                .WaitAsync(AuthorizeTimeout).GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            SrtLog.AuthorizerFailed(_logger, ex, remoteText);
            return Refuse(LibSrt.SRT_REJX_UNAVAILABLE, "could not check the stream key now");
        }
        if (!decision.Allowed && decision.KeyRejected && _admission.RecordFailedPublish(address, out int failed))
            SrtLog.AddressBlocked(_logger, address.ToString(), failed, _limits.FailedPublishWindowSeconds, _limits.FailedPublishBlockSeconds);
        if (!decision.Allowed || decision.Ticket is null || string.IsNullOrEmpty(decision.StreamName))
            return Refuse(decision.KeyRejected ? LibSrt.SRT_REJX_UNAUTHORIZED : LibSrt.SRT_REJX_FORBIDDEN, decision.Reason ?? "publish not allowed");
        // A connected publisher that still sends keeps its key; one silent for Ingest:TakeoverSilenceMilliseconds is taken
        // over at accept (the same encoder back on a new path).
        if (_registry.Find(decision.StreamName) is { IsReconnecting: false, IsCompleted: false } live
            && (_takeoverSilence <= TimeSpan.Zero || live.SilentFor < _takeoverSilence))
        {
            SrtLog.RefusedStillSending(_logger, remoteText, decision.StreamName, (int)live.SilentFor.TotalMilliseconds, decision.ChannelId);
            return Refuse(LibSrt.SRT_REJX_CONFLICT, $"{decision.StreamName} is already publishing: another encoder is sending to this key");
        }

        long now = Environment.TickCount64;
        foreach (var (stale, screened) in _screened)
            if (now - screened.At > 30_000) _screened.TryRemove(stale, out _); // handshakes that never reached accept
        _screened[socket] = new Screened(decision, id, now);
        return 0;
    }

    private static IPAddress Unmapped(IPEndPoint? remote)
    {
        var address = remote?.Address ?? IPAddress.None;
        return address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }

    private void ReceiveLoop()
    {
        var events = new LibSrt.EpollEvent[64];
        var buffer = new byte[MessageCapacity];
        long nextIdleCheck = 0;
        try
        {
            while (!_stopping)
            {
                int ready;
                fixed (LibSrt.EpollEvent* e = events) ready = LibSrt.srt_epoll_uwait(_epoll, e, events.Length, 250);
                for (int i = 0; i < ready; i++)
                {
                    var ev = events[i];
                    if (ev.Socket == _listener) AcceptOne();
                    else if (_publishers.TryGetValue(ev.Socket, out var publisher)) Receive(publisher, ev.Events, buffer);
                }
                while (_endedByServer.TryDequeue(out int socket))
                    if (_publishers.TryGetValue(socket, out var ended)) Close(ended, CloseKind.EndedByServer, null);
                while (_takenOver.TryDequeue(out int socket))
                    if (_publishers.TryGetValue(socket, out var replaced)) Close(replaced, CloseKind.TakenOver, null);
                long now = Environment.TickCount64;
                if (now >= nextIdleCheck)
                {
                    nextIdleCheck = now + 1000;
                    foreach (var publisher in _publishers.Values.ToArray())
                        if (now - publisher.LastDataAt > _limits.IdleTimeoutSeconds * 1000L)
                            Close(publisher, CloseKind.Dropped, $"no media for {_limits.IdleTimeoutSeconds} s (Rtmp:IdleTimeoutSeconds)");
                }
            }
        }
        catch (Exception ex)
        {
            SrtLog.ReceiveLoopFailed(_logger, ex);
        }
        finally
        {
            foreach (var publisher in _publishers.Values.ToArray()) Close(publisher, CloseKind.ServerStopping, null);
        }
    }

    /// <summary>One accept per readiness event: the epoll reports the listener once for each connection waiting.</summary>
    private void AcceptOne()
    {
        byte* sockaddr = stackalloc byte[LibSrt.SockaddrCapacity];
        int length = LibSrt.SockaddrCapacity;
        int socket = LibSrt.srt_accept(_listener, sockaddr, &length);
        if (socket != LibSrt.InvalidSocket) Accept(socket, LibSrt.ReadSockaddr(sockaddr));
    }

    private void Accept(int socket, IPEndPoint? remote)
    {
        string remoteText = remote?.ToString() ?? "?";
        if (!_screened.TryRemove(socket, out var screened))
        {
            SrtLog.RefusedAfterHandshake(_logger, remoteText, "no screening record for the connection");
            LibSrt.srt_close(socket);
            return;
        }
        var address = Unmapped(remote);
        var verdict = _admission.TryAdmit(address, out int open, out long refused);
        if (verdict != RtmpAdmission.Verdict.Admitted)
        {
            if (RtmpAdmission.ShouldLog(refused))
                SrtLog.RefusedAfterHandshake(_logger, remoteText, verdict == RtmpAdmission.Verdict.TooManyConnections
                    ? $"{open} connections already open from this address (Rtmp:MaxConnectionsPerIp)"
                    : $"more than {_limits.HandshakesPerSecondPerIp} connections per second from this address (Rtmp:HandshakesPerSecondPerIp)");
            LibSrt.srt_close(socket);
            return;
        }
        var decision = screened.Decision;
        if (!_registry.TryStartPublish(decision.Ticket!, _takeoverSilence, out var stream, out bool tookOver, "srt"))
        {
            SrtLog.RefusedAfterHandshake(_logger, remoteText, $"{decision.StreamName} is already publishing");
            _admission.Release(address);
            LibSrt.srt_close(socket);
            return;
        }
        stream.Tag = decision.ChannelId;
        var opus = new OpusToAacTranscoder(stream, _options.FfmpegPath, _options.OpusToAacBitrate, _logger);
        var publisher = new SrtConnection(Interlocked.Increment(ref _lastId), socket, remoteText, address, decision, stream,
            new MpegTsDemuxer(stream, _limits.MaxMessageSize, opus, _options.MaxAudioTracks), opus);
        publisher.OnCompleted = _ => _endedByServer.Enqueue(socket);
        stream.Completed += publisher.OnCompleted;
        publisher.Resumes = stream.Resumes;
        publisher.OnReplaced = replaced => { if (replaced.Resumes != publisher.Resumes) _takenOver.Enqueue(socket); };
        stream.PublisherReplaced += publisher.OnReplaced;
        if (tookOver) SrtLog.TookOver(_logger, publisher.Id, remoteText, stream.Name, decision.ChannelId);
        int events = LibSrt.SRT_EPOLL_IN | LibSrt.SRT_EPOLL_ERR;
        _publishers[socket] = publisher;
        Interlocked.Increment(ref _publisherCount);
        if (LibSrt.srt_epoll_add_usock(_epoll, socket, &events) < 0)
        {
            Close(publisher, CloseKind.Dropped, "srt_epoll_add_usock failed: " + LibSrt.LastError());
            return;
        }
        SrtLog.PublishStarted(_logger, publisher.Id, remoteText, stream.Name, screened.StreamId.App, decision.ChannelId);
    }

    private void Receive(SrtConnection publisher, int readyEvents, byte[] buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                int received = LibSrt.srt_recvmsg(publisher.Socket, p, buffer.Length);
                if (received < 0)
                {
                    if (LibSrt.srt_getlasterror(0) == LibSrt.SRT_EASYNCRCV) break;
                    Close(publisher, CloseKind.Dropped, LibSrt.LastError());
                    return;
                }
                if (received == 0) break;
                publisher.BytesIn += received;
                publisher.LastDataAt = Environment.TickCount64;
                if (!publisher.Demuxer.TryWrite(buffer.AsSpan(0, received), out var error))
                {
                    Close(publisher, CloseKind.Malformed, error);
                    return;
                }
                if (publisher.Demuxer.SpliceSignals.Count > 0) publisher.SpliceCues.Handle(publisher, _logger);
                if (publisher.Demuxer.ProgramChanged) LogProgram(publisher);
            }
        }
        if ((readyEvents & LibSrt.SRT_EPOLL_ERR) != 0) Close(publisher, CloseKind.Dropped, "connection lost");
    }

    private enum CloseKind
    {
        Dropped,
        Malformed,
        EndedByServer,
        ServerStopping,
        TakenOver,
    }

    /// <summary>A new PMT: which audio is the default, which are alternates, and what is left out.</summary>
    private void LogProgram(SrtConnection publisher)
    {
        var demuxer = publisher.Demuxer;
        string audio = demuxer.AudioStream?.Describe() ?? "none";
        string alternates = string.Join(", ", demuxer.AlternateAudioStreams.Select(s => s.Describe()));
        if (demuxer.AlternateAudioStreams.Count > 0)
            SrtLog.AlternateAudio(_logger, publisher.Id, publisher.Stream.Name, audio, alternates);
        if (demuxer.IgnoredStreams.Count > 0)
        {
            string ingested = demuxer.AudioStream is null ? "none"
                : demuxer.AlternateAudioStreams.Count == 0 ? audio
                : $"{audio} (default), {alternates}";
            SrtLog.IgnoredStreams(_logger, publisher.Id, publisher.Stream.Name, ingested,
                string.Join(", ", demuxer.IgnoredStreams.Select(s => s.Describe())));
        }
    }

    /// <summary>Closes one publisher's socket and ends or suspends its publish; on the receive thread only.</summary>
    private void Close(SrtConnection publisher, CloseKind kind, string? reason)
    {
        if (!_publishers.Remove(publisher.Socket)) return;
        Interlocked.Decrement(ref _publisherCount);
        LibSrt.srt_epoll_remove_usock(_epoll, publisher.Socket);
        LibSrt.srt_close(publisher.Socket);
        _admission.Release(publisher.Address);
        publisher.Demuxer.Dispose();
        _ = publisher.Opus.DisposeAsync().AsTask()
            .ContinueWith(t => SrtLog.Failed(_logger, t.Exception!, publisher.Id, publisher.Remote, publisher.Decision.ChannelId),
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        var stream = publisher.Stream;
        stream.Completed -= publisher.OnCompleted;
        stream.PublisherReplaced -= publisher.OnReplaced;
        var decision = publisher.Decision;
        // A new connection with this key took the stream over while this one was silent: the broadcast goes on there,
        // nothing is ended or interrupted (also when this socket failed before the takeover's close came round).
        if (kind == CloseKind.TakenOver || stream.Resumes != publisher.Resumes)
        {
            SrtLog.TakenOver(_logger, publisher.Id, publisher.Remote, stream.Name, decision.ChannelId);
            return;
        }
        if (kind == CloseKind.Malformed) SrtLog.ProtocolError(_logger, publisher.Id, publisher.Remote, reason!, decision.ChannelId);
        else SrtLog.Closed(_logger, publisher.Id, publisher.Remote, publisher.BytesIn, reason ?? kind.ToString());

        if (kind is CloseKind.Dropped or CloseKind.Malformed && _registry.Interrupt(stream, _reconnectGrace))
        {
            SrtLog.PublishInterrupted(_logger, publisher.Id, publisher.Remote, stream.Name, (int)_reconnectGrace.TotalSeconds, decision.ChannelId);
            PublishGrace.WhenExpired(stream, publisher.Resumes, completed =>
            {
                SrtLog.ReconnectGraceExpired(_logger, publisher.Id, publisher.Remote, completed.Name, decision.ChannelId);
                _ = NotifyUnpublishedAsync(publisher);
            });
            return;
        }
        _registry.EndPublish(stream);
        if (kind == CloseKind.EndedByServer) SrtLog.EndedByServer(_logger, publisher.Id, publisher.Remote, stream.Name, decision.ChannelId);
        else SrtLog.PublishEnded(_logger, publisher.Id, publisher.Remote, stream.Name, decision.ChannelId);
        _ = NotifyUnpublishedAsync(publisher);
    }

    private Task NotifyUnpublishedAsync(SrtConnection publisher) =>
        PublishGrace.NotifyUnpublishedAsync(_authorizer, publisher.Decision,
            ex => SrtLog.Failed(_logger, ex, publisher.Id, publisher.Remote, publisher.Decision.ChannelId));

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping || _thread is null) return Task.CompletedTask;
        _stopping = true;
        _thread.Join(TimeSpan.FromSeconds(5));
        LibSrt.srt_close(_listener);
        LibSrt.srt_epoll_release(_epoll);
        if (_self.IsAllocated) _self.Free();
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => new(StopAsync(CancellationToken.None));
}
