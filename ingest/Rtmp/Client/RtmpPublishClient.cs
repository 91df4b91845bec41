using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Broadcast.Media.Flv;
using Broadcast.Media;

namespace Broadcast.Ingest.Rtmp.Client;

/// <summary>
/// Publishes to an RTMP or RTMPS server: TCP (or TLS with SNI for rtmps://), the handshake, the publish flow of
/// <see cref="RtmpPublishProtocol"/>, then <see cref="MediaFrame"/>s as FLV tag bodies. A background loop keeps reading
/// the server (pings, acknowledgements, a late error status); <see cref="Completion"/> ends when the server closes or
/// fails the connection. Sends are serialised; one caller sends frames in order.
/// </summary>
public sealed partial class RtmpPublishClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly Stream _stream;
    private readonly RtmpPublishProtocol _protocol;
    private readonly RtmpPublishClientOptions _options;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly ChunkStreamReader _reader;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly ArrayBufferWriter<byte> _body = new(64 * 1024);
    private CancellationTokenSource _writeTimeout = new();
    private Task _readLoop = Task.CompletedTask;
    private MediaTrack? _sentVideo;
    private MediaTrack? _sentAudio;
    private long? _baseMs;
    private uint _lastTimestamp;
    private long _bytesSent;
    private int _disposed;

    private RtmpPublishClient(TcpClient tcp, Stream stream, RtmpPublishTarget target, RtmpPublishClientOptions options)
    {
        _tcp = tcp;
        _stream = stream;
        _options = options;
        Target = target;
        _protocol = new RtmpPublishProtocol(target, options.ChunkSize);
        _input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024, leaveOpen: true));
        _output = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));
        _reader = new ChunkStreamReader(new ChunkStreamReaderOptions
        {
            MaxMessageSize = options.MaxMessageSize,
            MaxChunkStreams = 16,
            MaxBufferedBytes = options.MaxMessageSize * 2,
        });
    }

    public RtmpPublishTarget Target { get; }

    /// <summary>Bytes written to the destination (handshake, commands and media).</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Ends when the server closes the connection or fails the publish (faulted with the reason).</summary>
    public Task Completion => _readLoop;

    /// <summary>Connects, handshakes and publishes; returns once the server said NetStream.Publish.Start.</summary>
    /// <param name="addresses">Connect to these (the addresses an outbound check vetted for <see cref="RtmpPublishTarget.Host"/>) instead of
    /// resolving the host again; TLS still names and checks the host.</param>
    /// <exception cref="RtmpPublishException">The server refused the publish or the connection failed; the message says why.</exception>
    public static async Task<RtmpPublishClient> PublishAsync(RtmpPublishTarget target, RtmpPublishClientOptions? options,
        CancellationToken cancellationToken,
        IReadOnlyList<IPAddress>? addresses = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        options ??= new RtmpPublishClientOptions();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout);
        var token = timeout.Token;
        var tcp = new TcpClient { NoDelay = true };
        RtmpPublishClient? client = null;
        try
        {
            if (addresses is { Count: > 0 }) await tcp.ConnectAsync(addresses.ToArray(), target.Port, token).ConfigureAwait(false);
            else await tcp.ConnectAsync(target.Host, target.Port, token).ConfigureAwait(false);
            Stream stream = tcp.GetStream();
            if (target.Secure)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = target.Host,
                    RemoteCertificateValidationCallback = options.AllowUntrustedCertificate ? static (_, _, _, _) => true : null,
                }, token).ConfigureAwait(false);
            }
            client = new RtmpPublishClient(tcp, stream, target, options);
            await client.HandshakeAsync(token).ConfigureAwait(false);
            await client.StartPublishAsync(token).ConfigureAwait(false);
            client._readLoop = Task.Run(() => client.ReadLoopAsync(client._stop.Token), CancellationToken.None);
            return client;
        }
        catch (Exception ex) when (ex is not RtmpPublishException)
        {
            if (client is not null) await client.DisposeAsync().ConfigureAwait(false);
            else tcp.Dispose();
            if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested) throw;
            throw new RtmpPublishException(Describe(ex, options.ConnectTimeout), ex);
        }
        catch
        {
            if (client is not null) await client.DisposeAsync().ConfigureAwait(false);
            else tcp.Dispose();
            throw;
        }
    }

    /// <summary>@setDataFrame onMetaData (call once, before the first frame).</summary>
    public async ValueTask SendMetadataAsync(AmfObject metadata, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _protocol.WriteMetadata(_output, metadata);
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Sends a data message (an onCuePoint ad marker, say) stamped with the newest frame's time, so the receiver places it
    /// there among the frames.
    /// </summary>
    public async ValueTask SendDataAsync(RtmpDataMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _protocol.WriteData(_output, _lastTimestamp, message);
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Sends a frame, preceded by its track's sequence header whenever the decoder configuration is new. Times are
    /// rebased so the first frame sent is at 0 ms. False (nothing sent) when the codec cannot travel over RTMP.
    /// </summary>
    public async ValueTask<bool> SendFrameAsync(MediaFrame frame, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var track = frame.Track;
        if (!FlvTagBodyWriter.CanCarry(track)) return false;
        ThrowIfReadLoopFailed();
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            long ms = Timescales.Rescale(frame.Dts, track.Timescale, Timescales.Milliseconds);
            _baseMs ??= ms;
            uint timestamp = (uint)Math.Max(0, ms - _baseMs.Value);
            _lastTimestamp = Math.Max(_lastTimestamp, timestamp);
            bool video = track.Kind == MediaKind.Video;
            ref var sent = ref video ? ref _sentVideo : ref _sentAudio;
            if (!ReferenceEquals(sent, track) && !track.HasSameConfig(sent))
            {
                _body.ResetWrittenCount();
                FlvTagBodyWriter.WriteSequenceHeader(_body, track);
                Write(video, timestamp, _body.WrittenSpan);
            }
            sent = track;
            _body.ResetWrittenCount();
            FlvTagBodyWriter.WriteFrame(_body, frame);
            Write(video, timestamp, _body.WrittenSpan);
            await FlushAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Sends one audio or video message whose body the caller built itself, as given and stamped <paramref name="timestampMs"/>:
    /// for bodies <see cref="SendFrameAsync"/> cannot express from a <see cref="MediaFrame"/> (an Enhanced RTMP multitrack
    /// message of several tracks). Nothing is rebased or preceded by a sequence header.
    /// </summary>
    public async ValueTask SendMessageAsync(bool video, uint timestampMs, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        ThrowIfReadLoopFailed();
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Data messages sent afterwards are stamped with the newest media time, as after SendFrameAsync.
            _lastTimestamp = Math.Max(_lastTimestamp, timestampMs);
            Write(video, timestampMs, body.Span);
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void ThrowIfReadLoopFailed()
    {
        if (_readLoop.IsCompleted && _readLoop.Exception is { } failed) throw new RtmpPublishException(failed.InnerException?.Message ?? failed.Message, failed);
    }

    private void Write(bool video, uint timestamp, ReadOnlySpan<byte> body)
    {
        if (video) _protocol.WriteVideo(_output, timestamp, body);
        else _protocol.WriteAudio(_output, timestamp, body);
    }

    private async Task HandshakeAsync(CancellationToken token)
    {
        var hello = _output.GetSpan(RtmpClientHandshake.ClientHelloLength);
        RtmpClientHandshake.WriteClientHello(hello, (uint)Environment.TickCount64);
        _output.Advance(RtmpClientHandshake.ClientHelloLength);
        await FlushAsync(token).ConfigureAwait(false);

        ReadOnlySequence<byte> buffer;
        while (true)
        {
            var result = await _input.ReadAsync(token).ConfigureAwait(false);
            buffer = result.Buffer;
            if (buffer.Length >= 1 && buffer.FirstSpan[0] != HandshakeC0.Rtmp)
                throw new RtmpPublishException($"not an RTMP server (version byte 0x{buffer.FirstSpan[0]:X2})");
            if (buffer.Length >= RtmpClientHandshake.ServerHelloLength) break;
            if (result.IsCompleted) throw new RtmpPublishException("the server closed the connection during the handshake");
            _input.AdvanceTo(buffer.Start, buffer.End);
        }
        var serverHello = ArrayPool<byte>.Shared.Rent(RtmpClientHandshake.ServerHelloLength);
        try
        {
            buffer.Slice(0, RtmpClientHandshake.ServerHelloLength).CopyTo(serverHello);
            _input.AdvanceTo(buffer.GetPosition(RtmpClientHandshake.ServerHelloLength));
            var c2 = _output.GetSpan(HandshakePacket.Length);
            if (!RtmpClientHandshake.TryWriteClientResponse(serverHello.AsSpan(0, RtmpClientHandshake.ServerHelloLength), c2, out _, out var error))
                throw new RtmpPublishException(error!);
            _output.Advance(HandshakePacket.Length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(serverHello);
        }
        // C2 and the first chunks (Set Chunk Size, connect) go out together.
        _protocol.Start(_output);
        await FlushAsync(token).ConfigureAwait(false);
    }

    private async Task StartPublishAsync(CancellationToken token)
    {
        while (true)
        {
            var phase = await ReadOnceAsync(token).ConfigureAwait(false);
            if (phase == RtmpPublishPhase.Live) return;
        }
    }

    private async Task ReadLoopAsync(CancellationToken token)
    {
        try
        {
            while (true) await ReadOnceAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // disposed
        }
        catch (Exception ex) when (ex is not RtmpPublishException)
        {
            throw new RtmpPublishException(Describe(ex, _options.ConnectTimeout), ex);
        }
    }

    /// <summary>Reads what the server sent, handles every whole message, and flushes any answers.</summary>
    private async Task<RtmpPublishPhase> ReadOnceAsync(CancellationToken token)
    {
        var result = await _input.ReadAsync(token).ConfigureAwait(false);
        var buffer = result.Buffer;
        long before = buffer.Length;
        ChunkReadStatus status;
        RtmpPublishPhase phase;
        await _writeLock.WaitAsync(token).ConfigureAwait(false);
        try
        {
            phase = _protocol.Phase;
            while ((status = _reader.TryRead(ref buffer, out var message)) == ChunkReadStatus.Message)
                phase = _protocol.Handle(message, _output);
            _protocol.OnBytesReceived(before - buffer.Length, _output);
            _input.AdvanceTo(buffer.Start, buffer.End);
            if (_output.UnflushedBytes > 0) await FlushAsync(token).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
        if (phase == RtmpPublishPhase.Failed) throw new RtmpPublishException(Refusal(_protocol.Error), detail: _protocol.Error);
        if (status == ChunkReadStatus.Error) throw new RtmpPublishException("malformed data from the server", detail: _reader.Error.ToString());
        if (result.IsCompleted) throw new RtmpPublishException("the server closed the connection");
        return phase;
    }

    /// <summary>
    /// Flushes under the write timeout: a destination that stops reading fails the send instead of hanging it. One
    /// timeout source serves every flush (reset each time), so a frame costs no allocation here.
    /// </summary>
    private async ValueTask FlushAsync(CancellationToken token)
    {
        long pending = _output.UnflushedBytes;
        if (!_writeTimeout.TryReset())
        {
            _writeTimeout.Dispose();
            _writeTimeout = new CancellationTokenSource();
        }
        _writeTimeout.CancelAfter(_options.WriteTimeout);
        var registration = token.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), _writeTimeout);
        try
        {
            var flush = await _output.FlushAsync(_writeTimeout.Token).ConfigureAwait(false);
            if (flush.IsCompleted) throw new RtmpPublishException("the server closed the connection");
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            throw new RtmpPublishException($"the server accepted no data for {_options.WriteTimeout.TotalSeconds:0} s");
        }
        catch (OperationCanceledException)
        {
            throw new OperationCanceledException(token);
        }
        finally
        {
            await registration.DisposeAsync().ConfigureAwait(false);
        }
        Interlocked.Add(ref _bytesSent, pending);
    }

    /// <summary>
    /// "the server refused the publish (NetStream.Publish.BadName)": the status code when it is one (a word list, not prose), never the
    /// server's description.
    /// </summary>
    internal static string Refusal(string? error)
    {
        string? code = error is null ? null : error.Split(": ", 2)[0];
        return code is { Length: <= 64 } && System.Text.RegularExpressions.Regex.IsMatch(code, @"^Net(Stream|Connection)(\.[A-Za-z]+){1,4}$")
            ? $"the server refused the publish ({code})"
            : "the server refused the publish";
    }

    private static string Describe(Exception ex, TimeSpan connectTimeout) => ex switch
    {
        RtmpPublishException p => p.Message,
        OperationCanceledException => $"no answer within {connectTimeout.TotalSeconds:0} s",
        SocketException s => s.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => "connection refused",
            SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "host not found",
            SocketError.TimedOut => "timed out",
            SocketError.ConnectionReset => "connection reset by the server",
            SocketError.NetworkUnreachable or SocketError.HostUnreachable => "network unreachable",
            _ => $"connection failed ({s.SocketErrorCode})",
        },
        System.Security.Authentication.AuthenticationException a => a.Message.Contains("certificate", StringComparison.OrdinalIgnoreCase)
            ? "TLS verification failed"
            : "TLS handshake failed",
        IOException { InnerException: SocketException s } => Describe(s, connectTimeout),
        IOException => "remote closed the connection",
        _ => "connection failed",
    };

    /// <summary>Unpublishes politely (best effort, briefly) and closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_protocol.Phase == RtmpPublishPhase.Live && !_readLoop.IsCompleted)
        {
            try
            {
                using var brief = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                if (await _writeLock.WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false))
                {
                    try
                    {
                        _protocol.WriteUnpublish(_output);
                        await _output.FlushAsync(brief.Token).ConfigureAwait(false);
                    }
                    finally
                    {
                        _writeLock.Release();
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException
                or InvalidOperationException)
            {
            }
        }
        _stop.Cancel();
        try
        {
            await _readLoop.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // its fault was already observed through Completion, or it does not matter at close
        }
        await _input.CompleteAsync().ConfigureAwait(false);
        try
        {
            await _output.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
        }
        _stream.Dispose();
        _tcp.Dispose();
        _reader.Dispose();
        _stop.Dispose();
        _writeTimeout.Dispose();
    }
}
