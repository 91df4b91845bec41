using System.Net.Sockets;
using Broadcast.Ingest.Rtmp.Client;
using Broadcast.Media;
using Broadcast.Network.Outbound;
using Microsoft.Extensions.Logging;

namespace Broadcast.Ingest.Restream;

/// <summary>
/// One destination of one live stream: connect, publish, pass frames through from its own
/// <see cref="LiveStreamReader"/> (starting at a keyframe, sequence headers first), and on any failure retry with
/// backoff until stopped or the stream ends. Its failures stay here: the reader's bounded queue means a stuck
/// destination only loses its own frames, never the publisher's or another destination's.
/// </summary>
internal sealed class RestreamSession
{
    private readonly LiveStream _stream;
    private readonly RtmpPublishTarget _target;
    private readonly RestreamOptions _options;
    private readonly OutboundGuard _outbound;
    private readonly RestreamBackoff _backoff;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Random _random = new();
    private RestreamState _state;
    private RtmpPublishClient? _client;
    private LiveStreamReader? _reader;
    private LiveStreamReader[] _trackReaders = [];
    private long _trackFramesDropped;
    private long _bytesBefore;
    private Task _run = Task.CompletedTask;

    public RestreamSession(LiveStream stream, RestreamDestination destination, RtmpPublishTarget target, RestreamOptions options,
        OutboundGuard outbound,
        TimeProvider time, ILogger logger)
    {
        _stream = stream;
        Destination = destination;
        _target = target;
        _options = options;
        _outbound = outbound;
        _backoff = options.Backoff;
        _time = time;
        _logger = logger;
        _state = new RestreamState(destination.Id, RestreamPhase.Connecting);
    }

    public RestreamDestination Destination { get; }

    /// <summary>The current state with live byte and drop counters.</summary>
    public RestreamState State
    {
        get
        {
            var state = Volatile.Read(ref _state);
            long bytes = Interlocked.Read(ref _bytesBefore) + (Volatile.Read(ref _client)?.BytesSent ?? 0);
            long dropped = (Volatile.Read(ref _reader)?.DroppedFrames ?? 0) + Interlocked.Read(ref _trackFramesDropped);
            foreach (var track in Volatile.Read(ref _trackReaders)) dropped += track.DroppedFrames;
            return state with { BytesSent = bytes, FramesDropped = state.FramesDropped + dropped };
        }
    }

    public void Start() => _run = Task.Run(RunAsync);

    /// <summary>Stops the session (unpublishing politely) and waits for it.</summary>
    public async Task StopAsync()
    {
        if (!_stop.IsCancellationRequested) _stop.Cancel();
        await _run.ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        int failures = 0;
        long dropped = 0;
        var clientOptions = new RtmpPublishClientOptions
        {
            ConnectTimeout = TimeSpan.FromSeconds(_options.ConnectTimeoutSeconds),
            WriteTimeout = TimeSpan.FromSeconds(_options.WriteTimeoutSeconds),
            ChunkSize = _options.ChunkSize,
            AllowUntrustedCertificate = _options.AllowUntrustedCertificates || Destination.AllowUntrustedCertificate,
        };
        try
        {
            while (!token.IsCancellationRequested && !_stream.IsCompleted)
            {
                SetState(s => s with
                {
                    Phase = RestreamPhase.Connecting, NextAttemptAt = null, ConnectedSince = null, VideoTracks = 0, AudioTracks = 0,
                });
                string reason;
                RtmpPublishClient? client = null;
                try
                {
                    // Checked at every connection (DNS may have changed since the API took the URL); the client connects to the
                    // addresses checked, and TLS still names and verifies the host.
                    var check = await _outbound.CheckAsync(new Uri(Destination.Url.Trim()), token).ConfigureAwait(false);
                    if (!check.IsAllowed)
                    {
                        if (check.Decision.Verdict == OutboundVerdict.Refused) RestreamLog.Refused(_logger, _stream.Name, _target.TcUrl,
                            Destination.Id, check.Decision.Reason);
                        throw new RtmpPublishException(check.Decision.Describe());
                    }
                    client = await RtmpPublishClient.PublishAsync(_target, clientOptions, token, check.Addresses).ConfigureAwait(false);
                    Volatile.Write(ref _client, client);
                    failures = 0;
                    SetState(s => s with { Phase = RestreamPhase.Live, ConnectedSince = _time.GetUtcNow(), Attempts = 0 });
                    RestreamLog.Live(_logger, _stream.Name, _target.TcUrl, Destination.Id);
                    if (await PumpAsync(client, token).ConfigureAwait(false)) return; // the stream ended
                    reason = "stopped";
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (RtmpPublishException ex)
                {
                    reason = ex.Message;
                    if (ex.Detail is { } detail) RestreamLog.FailureDetail(_logger, _stream.Name, Destination.Id, Redact(detail));
                }
                catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
                {
                    reason = "remote closed the connection";
                    RestreamLog.FailureDetail(_logger, _stream.Name, Destination.Id, Redact(ex.Message));
                }
                catch (Exception ex)
                {
                    RestreamLog.Crashed(_logger, ex, _stream.Name, _target.TcUrl, Destination.Id);
                    reason = "internal error";
                }
                finally
                {
                    if (client is not null)
                    {
                        if (Volatile.Read(ref _reader) is { } reader)
                        {
                            dropped += reader.DroppedFrames;
                            reader.Dispose();
                            Volatile.Write(ref _reader, null);
                        }
                        Interlocked.Add(ref _bytesBefore, client.BytesSent);
                        Volatile.Write(ref _client, null);
                        await client.DisposeAsync().ConfigureAwait(false);
                    }
                }
                if (token.IsCancellationRequested || _stream.IsCompleted) return;
                reason = Redact(reason);
                failures++;
                var delay = _backoff.Delay(failures, _random);
                var now = _time.GetUtcNow();
                long droppedSoFar = dropped;
                SetState(s => s with
                {
                    Phase = RestreamPhase.Retrying, ConnectedSince = null, LastError = reason, LastErrorAt = now, NextAttemptAt = now + delay,
                    Attempts = failures, FramesDropped = droppedSoFar,
                });
                RestreamLog.Failed(_logger, _stream.Name, _target.TcUrl, Destination.Id, reason, failures, (long)delay.TotalMilliseconds);
                try
                {
                    await Task.Delay(delay, _time, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
        finally
        {
            SetState(s => s with { Phase = RestreamPhase.Stopped, ConnectedSince = null, NextAttemptAt = null });
            RestreamLog.Stopped(_logger, _stream.Name, _target.TcUrl, Destination.Id, Interlocked.Read(ref _bytesBefore));
        }
    }

    /// <summary>
    /// Frames from a fresh reader to the client until the stream ends (true) or sending fails (throws). A multitrack
    /// destination also gets the encoder's other tracks, each from a reader of its own hub, once the default track's first
    /// frame has set the time base.
    /// </summary>
    private async Task<bool> PumpAsync(RtmpPublishClient client, CancellationToken token)
    {
        // Opened after the publish was accepted: it starts at the newest cached keyframe, so the destination's first
        // picture decodes; the client puts the sequence headers in front of the first frame of each track.
        var reader = _stream.OpenReader($"restream:{Destination.Id}", _options.QueueFrames);
        Volatile.Write(ref _reader, reader);
        await client.SendMetadataAsync(RtmpMetadata.From(_stream.Video, _stream.Audio), token).ConfigureAwait(false);
        using var tracksStop = CancellationTokenSource.CreateLinkedTokenSource(token);
        var tracks = Destination.Multitrack ? new List<Task>() : null;
        bool timeBaseSet = false;
        try
        {
            while (true)
            {
                if (tracks?.Find(t => t.IsFaulted) is { } failed) await failed.ConfigureAwait(false); // its failure is the session's
                var frame = await reader.ReadAsync(token).ConfigureAwait(false);
                if (frame is null) return true;
                // The encoder's other tracks are looked for at the first frame, then at each keyframe of the default track (they
                // may start a moment after its first frames). The first ones are announced ahead of that first frame, so the
                // destination learns every track before its first picture; their pumps start once the frame has set the time base.
                var fresh = tracks is not null && (!timeBaseSet || (frame.Kind == MediaKind.Video && frame.IsKeyframe)) ? NewTracks() : null;
                if (fresh is not null && !timeBaseSet) await AnnounceAsync(client, fresh, token).ConfigureAwait(false);
                try
                {
                    await client.SendFrameAsync(frame, token).ConfigureAwait(false);
                }
                finally
                {
                    frame.Release();
                }
                if (fresh is { Count: > 0 }) StartPumps(client, fresh, tracks!, tracksStop.Token);
                timeBaseSet = true;
            }
        }
        finally
        {
            await tracksStop.CancelAsync().ConfigureAwait(false);
            if (tracks is not null) await Task.WhenAll(tracks).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
            foreach (var track in Interlocked.Exchange(ref _trackReaders, []))
            {
                Interlocked.Add(ref _trackFramesDropped, track.DroppedFrames);
                track.Dispose();
            }
        }
    }

    /// <summary>
    /// One of the encoder's tracks beside the default ones, as the destination numbers it: 1.. per kind in the order the encoder
    /// sent them (the source's own ids may be MPEG-TS PIDs, which do not fit a track id byte).
    /// </summary>
    private readonly record struct SideTrack(LiveStream Hub, MediaKind Kind, byte Id)
    {
        public MediaTrack? Config => Kind == MediaKind.Video ? Hub.Video : Hub.Audio;
    }

    /// <summary>
    /// The encoder's video rungs and alternate audio tracks not sent yet. The hub's lists only grow, so a track's place in
    /// them is its id, and the counts in the state say how many of each kind already go.
    /// </summary>
    private List<SideTrack> NewTracks()
    {
        var state = Volatile.Read(ref _state);
        var fresh = new List<SideTrack>();
        var rungs = _stream.EncoderRungs;
        for (int i = state.VideoTracks; i < Math.Min(rungs.Count, byte.MaxValue); i++) fresh.Add(new(rungs[i].Value, MediaKind.Video, (byte)(i + 1)));
        var audio = _stream.AlternateAudioTracks;
        for (int i = state.AudioTracks; i < Math.Min(audio.Count, byte.MaxValue); i++) fresh.Add(new(audio[i].Hub, MediaKind.Audio, (byte)(i + 1)));
        return fresh;
    }

    /// <summary>
    /// The tracks' sequence starts, ahead of the default track's first frame, as from an encoder: a server that sets its ladder
    /// and languages at the first picture (ours) keeps them all.
    /// </summary>
    private static async Task AnnounceAsync(RtmpPublishClient client, List<SideTrack> tracks, CancellationToken token)
    {
        foreach (var track in tracks)
            if (track.Config is { } config) await client.SendTrackSequenceStartAsync(config, track.Id, token).ConfigureAwait(false);
    }

    /// <summary>A pump per track, each from a reader of the track's own hub.</summary>
    private void StartPumps(RtmpPublishClient client, List<SideTrack> tracks, List<Task> pumps, CancellationToken token)
    {
        var readers = new List<LiveStreamReader>(Volatile.Read(ref _trackReaders));
        foreach (var track in tracks)
        {
            var reader = track.Hub.OpenReader($"restream:{Destination.Id}:{track.Hub.Name}", _options.QueueFrames);
            readers.Add(reader);
            pumps.Add(PumpTrackAsync(reader, track.Id, client, token));
        }
        Volatile.Write(ref _trackReaders, readers.ToArray());
        int video = tracks.Count(t => t.Kind == MediaKind.Video), audio = tracks.Count - video;
        var state = SetState(s => s with { VideoTracks = s.VideoTracks + video, AudioTracks = s.AudioTracks + audio });
        RestreamLog.Multitrack(_logger, _stream.Name, Destination.Id, state.VideoTracks, state.AudioTracks);
    }

    private static async Task PumpTrackAsync(LiveStreamReader reader, byte trackId, RtmpPublishClient client, CancellationToken token)
    {
        while (await reader.ReadAsync(token).ConfigureAwait(false) is { } frame)
        {
            try
            {
                await client.SendTrackFrameAsync(frame, trackId, token).ConfigureAwait(false);
            }
            finally
            {
                frame.Release();
            }
        }
    }

    /// <summary>A server may echo the publish name in its error description: the key never reaches a state or a log.</summary>
    private string Redact(string reason) =>
        Destination.StreamKey.Length >= 4 ? reason.Replace(Destination.StreamKey, "***", StringComparison.Ordinal) : reason;

    private RestreamState SetState(Func<RestreamState, RestreamState> change)
    {
        RestreamState current, next;
        do
        {
            current = Volatile.Read(ref _state);
            next = change(current);
        }
        while (Interlocked.CompareExchange(ref _state, next, current) != current);
        return next;
    }
}
