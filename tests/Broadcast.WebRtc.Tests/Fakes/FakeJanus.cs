using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Broadcast.WebRtc.Janus;
using Broadcast.WebRtc.Sdp;

namespace Broadcast.WebRtc.Tests.Fakes;

/// <summary>One request a service made of a plugin: the handle, the plugin it was attached to, the request's name, its body and JSEP.</summary>
internal sealed record FakeJanusRequest(long Session, long Handle, string Plugin, string Request, JsonObject Body, JsonObject? Jsep);

/// <summary>
/// A fake of the node's Janus (<see cref="IJanusClient"/>) for the room's and WHEP's unit tests: no process, no network. It
/// answers VideoRoom's and NoSIP's requests as Janus 1.1.2 does in shape (the replies <see cref="VideoRoomRequests"/> and
/// <see cref="NoSipBridge"/> read), records every request, and lets a test do what a real Janus does by itself: bring a
/// handle's PeerConnection up or end it, refuse a request, fail to start, or crash (every handle of the run gone, the
/// next session a new run). Detaching a handle raises its end, as Janus's <c>detached</c> event does.
/// </summary>
internal sealed class FakeJanus : IJanusClient
{
    private readonly Lock _gate = new();
    private readonly ConcurrentQueue<FakeJanusRequest> _requests = new();
    private readonly ConcurrentDictionary<string, string> _refusals = new(StringComparer.Ordinal);
    private FakeJanusSession? _current;
    private long _nextSessionId = 1000;

    public bool Enabled { get; set; } = true;

    /// <summary>While true, Janus does not come up: <see cref="GetSessionAsync"/> times out as the supervisor's does.</summary>
    public bool Down { get; set; }

    public bool IsReady
    {
        get
        {
            lock (_gate) return _current is not null && !Down;
        }
    }

    /// <summary>Janus runs started so far (a crash and a later request start another).</summary>
    public int Runs { get; private set; }

    public int StartsWithoutWaiting { get; private set; }

    /// <summary>The plain RTP offer NoSIP's <c>generate</c> answers with (Janus 1.1.2's, captured from Chromium's offer).</summary>
    public string NoSipGeneratedSdp { get; set; } = SdpSamples.NoSipGenerated;

    public event Action<IJanusSession>? Lost;

    public event Action<IJanusSession, long>? HandleEnded;

    public event Action<IJanusSession, long>? HandleUp;

    /// <summary>The current run's session, or null when none runs.</summary>
    public FakeJanusSession? Current
    {
        get
        {
            lock (_gate) return _current;
        }
    }

    public IReadOnlyList<FakeJanusRequest> Requests => [.. _requests];

    /// <summary>The requests named <paramref name="request"/> (e.g. <c>joinandconfigure</c>, <c>generate</c>) so far.</summary>
    public IReadOnlyList<FakeJanusRequest> RequestsNamed(string request) => [.. _requests.Where(r => r.Request == request)];

    /// <summary>When set, the session every request gets instead of this fake's own (a real <see cref="JanusSession"/> over a faulty transport).</summary>
    public IJanusSession? SessionOverride { get; set; }

    public Task<IJanusSession> GetSessionAsync(CancellationToken cancellationToken)
    {
        if (SessionOverride is { } session) return Task.FromResult(session);
        if (!Enabled) return Task.FromException<IJanusSession>(new InvalidOperationException("Janus is disabled (Janus:Enabled=false)"));
        if (Down) return Task.FromException<IJanusSession>(new TimeoutException("Janus did not start"));
        return Task.FromResult<IJanusSession>(Run());
    }

    public void StartWithoutWaiting()
    {
        StartsWithoutWaiting++;
        if (Enabled && !Down) Run();
    }

    /// <summary>Every later request named <paramref name="request"/> is refused with a plugin error until <see cref="Accept"/>.</summary>
    public void Refuse(string request, string reason = "refused by the fake") => _refusals[request] = reason;

    public void Accept(string request) => _refusals.TryRemove(request, out _);

    /// <summary>The PeerConnection of <paramref name="handle"/> came up (Janus's <c>webrtcup</c>).</summary>
    public void Up(long handle) => HandleUp?.Invoke(Current ?? throw new InvalidOperationException("no Janus runs"), handle);

    /// <summary>The PeerConnection of <paramref name="handle"/> ended on Janus's side (Janus's <c>hangup</c>).</summary>
    public void HangUp(long handle) => HandleEnded?.Invoke(Current ?? throw new InvalidOperationException("no Janus runs"), handle);

    /// <summary>Janus dies: its session and every handle with it; the next request starts a new run.</summary>
    public void Crash()
    {
        FakeJanusSession? lost;
        lock (_gate)
        {
            lost = _current;
            _current = null;
        }

        if (lost is null) return;
        lost.End();
        Lost?.Invoke(lost);
    }

    private FakeJanusSession Run()
    {
        lock (_gate)
        {
            if (_current is not null) return _current;
            Runs++;
            _current = new FakeJanusSession(this, Interlocked.Increment(ref _nextSessionId));
            return _current;
        }
    }

    internal void Record(FakeJanusRequest request) => _requests.Enqueue(request);

    internal string? RefusalOf(string request) => _refusals.TryGetValue(request, out var reason) ? reason : null;

    internal void Detached(FakeJanusSession session, long handle) => HandleEnded?.Invoke(session, handle);
}

/// <summary>One run's session of <see cref="FakeJanus"/>: its handles, their plugins, and the replies.</summary>
internal sealed class FakeJanusSession(FakeJanus janus, long id) : IJanusSession
{
    private readonly ConcurrentDictionary<long, string> _handles = new();
    private readonly ConcurrentQueue<long> _detached = new();
    private long _nextHandle = id * 1000;
    private long _nextPublisher = 1;
    private long _nextRoom = 1234;
    private int _restarts;
    private volatile bool _ended;

    public long Id { get; } = id;

    public string AdminKey => "fake-admin-key";

    /// <summary>Handles attached and not detached, with their plugin.</summary>
    public IReadOnlyDictionary<long, string> Handles => _handles;

    /// <summary>The handles detached (or asked to be), in order.</summary>
    public IReadOnlyList<long> Detached => [.. _detached];

    internal void End() => _ended = true;

    public Task<long> AttachAsync(string plugin, CancellationToken cancellationToken)
    {
        if (_ended) throw new JanusApiException("Janus error 458: No such session");
        long handle = Interlocked.Increment(ref _nextHandle);
        _handles[handle] = plugin;
        return Task.FromResult(handle);
    }

    public Task<JanusPluginEvent> MessageAsync(long handle, JsonObject body, JsonObject? jsep, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_ended) throw new JanusApiException("Janus error 458: No such session");
        if (!_handles.TryGetValue(handle, out string? plugin)) throw new JanusApiException("Janus error 459: No such handle");
        string request = (string?)body["request"] ?? "";
        janus.Record(new FakeJanusRequest(Id, handle, plugin, request, (JsonObject)body.DeepClone(), (JsonObject?)jsep?.DeepClone()));
        if (janus.RefusalOf(request) is { } reason) throw new JanusApiException($"plugin error 499: {reason}");
        return Task.FromResult(plugin switch
        {
            VideoRoomRequests.Plugin => VideoRoom(request, body, jsep),
            NoSipBridge.Plugin => NoSip(request, body, jsep),
            _ => throw new JanusApiException($"Janus error 460: plugin {plugin} not found"),
        });
    }

    /// <summary>Every handle a service asked to detach, on a live run or on one that is gone (which has nothing to detach).</summary>
    public Task DetachQuietlyAsync(long handle)
    {
        _detached.Enqueue(handle);
        if (!_ended && _handles.TryRemove(handle, out _)) janus.Detached(this, handle);
        return Task.CompletedTask;
    }

    private JanusPluginEvent VideoRoom(string request, JsonObject body, JsonObject? jsep)
    {
        switch (request)
        {
            case "create":
                return Event(new JsonObject { ["videoroom"] = "created", ["room"] = body["room"]?.DeepClone() ?? Interlocked.Increment(ref _nextRoom) });
            case "joinandconfigure":
                string offer = (string?)jsep?["sdp"] ?? throw new JanusApiException("plugin error 429: missing offer");
                return Event(new JsonObject { ["videoroom"] = "joined", ["id"] = Interlocked.Increment(ref _nextPublisher) },
                    new JsonObject { ["type"] = "answer", ["sdp"] = PublisherAnswer(offer) });
            case "join":
                return Event(new JsonObject { ["videoroom"] = "attached" }, new JsonObject { ["type"] = "offer", ["sdp"] = SubscriberOffer });
            case "rtp_forward":
            case "moderate":
            case "configure":
            case "start":
                return Event(new JsonObject { ["videoroom"] = "event", ["result"] = "ok" });
            default:
                throw new JanusApiException($"plugin error 423: unknown request {request}");
        }
    }

    private JanusPluginEvent NoSip(string request, JsonObject body, JsonObject? jsep)
    {
        switch (request)
        {
            case "generate":
                if (jsep?["sdp"] is null) throw new JanusApiException("plugin error 446: missing offer");
                return Event(new JsonObject { ["event"] = "generated", ["result"] = new JsonObject { ["type"] = "offer", ["sdp"] = janus.NoSipGeneratedSdp } });
            case "process":
                if (body["sdp"] is null) throw new JanusApiException("plugin error 446: missing answer");
                int restart = Interlocked.Increment(ref _restarts);
                return Event(new JsonObject { ["event"] = "processed" }, new JsonObject { ["type"] = "answer", ["sdp"] = WebRtcAnswer(restart) });
            default:
                throw new JanusApiException($"plugin error 441: unknown request {request}");
        }
    }

    private static JanusPluginEvent Event(JsonObject data, JsonObject? jsep = null) => new(data, jsep);

    /// <summary>VideoRoom's answer to a publisher: each offered stream received, with the first of its codecs the room takes (VP8, H.264, Opus).</summary>
    private static string PublisherAnswer(string offer)
    {
        if (!SessionDescription.TryParse(offer, out var parsed, out string error)) throw new JanusApiException($"plugin error 429: bad SDP ({error})");
        var answer = new StringBuilder("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=VideoRoom\r\nt=0 0\r\n");
        foreach (var media in parsed.Media)
        {
            var taken = media.RtpMaps().FirstOrDefault(m => m.Encoding.ToUpperInvariant() is "VP8" or "H264" or "OPUS");
            if (taken is null)
            {
                answer.Append($"m={media.Media} 0 UDP/TLS/RTP/SAVPF 0\r\n");
                continue;
            }

            answer.Append($"m={media.Media} 9 UDP/TLS/RTP/SAVPF {taken.PayloadType}\r\nc=IN IP4 127.0.0.1\r\n");
            if (media.Mid is { } mid) answer.Append($"a=mid:{mid}\r\n");
            answer.Append($"a=recvonly\r\na=rtpmap:{taken.PayloadType} {taken.Encoding}/{taken.ClockRate}{(taken.Channels > 1 ? $"/{taken.Channels}" : "")}\r\n");
        }

        return answer.ToString();
    }

    /// <summary>Janus's WebRTC answer through NoSIP: new ICE credentials on each (re)negotiation, as an ICE restart gets.</summary>
    private string WebRtcAnswer(int negotiation) =>
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=NoSIP\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
        + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 127.0.0.1\r\na=mid:0\r\na=sendonly\r\n"
        + $"a=ice-ufrag:fake{Id}n{negotiation}\r\na=ice-pwd:fakepasswordfakepassword{negotiation:D4}\r\n"
        + "a=candidate:1 1 udp 2013266431 127.0.0.1 40000 typ host\r\na=rtpmap:96 H264/90000\r\n";

    private const string SubscriberOffer =
        "v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=VideoRoom\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 127.0.0.1\r\n"
        + "a=mid:v0\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n";
}
