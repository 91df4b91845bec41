using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broadcast.Refusals;

namespace Broadcast.WebRtc.Janus;

/// <summary>
/// What Janus answered with <c>"janus": "error"</c> (its code and reason), or a reply we could not use. A
/// <see cref="Refusal"/> of the engine (502): the services translate it into their own words, and one that escapes them
/// still reaches the client as problem+json through the <see cref="RefusalBoundary"/>, never as a 500.
/// </summary>
public class JanusApiException : Refusal
{
    public JanusApiException(string message) : base(RefusalKind.EngineFailed, message) { }

    public JanusApiException(string message, Exception inner) : base(RefusalKind.EngineFailed, message, field: null, title: null, inner) { }
}

/// <summary>
/// Janus's HTTP API could not be used at all: no connection, a reply that is not JSON, or no reply within the client's
/// timeout. A <see cref="JanusApiException"/>, so the services' Janus-error handling (502) and the boundary cover it.
/// </summary>
public sealed class JanusTransportException(string message, Exception inner) : JanusApiException(message, inner);

/// <summary>An asynchronous plugin reply: the plugin's data and, when it negotiated, its JSEP.</summary>
public sealed record JanusPluginEvent(JsonObject Data, JsonObject? Jsep);

/// <summary>
/// One session on Janus's HTTP API (the REST transport: POST requests, GET long polls for events). This server holds one
/// per Janus run and attaches a handle per viewer. A single long-poll loop reads every event: replies to our
/// asynchronous requests are matched by transaction, "hangup" and "detached" by the handle they came from. The poll
/// itself keeps the session alive (Janus renews a session on every request; its long poll returns within 30 s).
/// </summary>
public sealed class JanusSession : IJanusSession, IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _sessionUri;
    private readonly string _apiSecret;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonObject>> _pending = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _poll;

    private JanusSession(HttpClient http, Uri apiUri, string apiSecret, long id)
    {
        _http = http;
        _apiSecret = apiSecret;
        Id = id;
        _sessionUri = new Uri(apiUri, id.ToString(CultureInfo.InvariantCulture) + "/");
        _poll = Task.Run(PollAsync);
    }

    public long Id { get; }

    /// <summary>The key VideoRoom asks for to create rooms and RTP forwarders: the API secret (see <see cref="JanusConfigFiles"/>).</summary>
    public string AdminKey => _apiSecret;

    /// <summary>Completes when the session is gone: Janus stopped answering, forgot the session, or it was disposed.</summary>
    public Task Ended => _poll;

    /// <summary>A handle's PeerConnection ended on Janus's side (the viewer left, ICE or DTLS failed) or the handle was detached.</summary>
    public event Action<long>? HandleEnded;

    /// <summary>A handle's PeerConnection is up (ICE connected, DTLS done: Janus's <c>webrtcup</c>).</summary>
    public event Action<long>? HandleUp;

    /// <summary>Creates a session on the API at <paramref name="apiUri"/> (ending in <c>/janus/</c>).</summary>
    public static async Task<JanusSession> CreateAsync(HttpClient http, Uri apiUri, string apiSecret, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(apiUri);
        var reply = await PostAsync(http, apiUri, new JsonObject { ["janus"] = "create" }, apiSecret, cancellationToken).ConfigureAwait(false);
        return new JanusSession(http, apiUri, apiSecret, DataId(reply));
    }

    /// <summary>Attaches a handle to <paramref name="plugin"/> (e.g. <c>janus.plugin.nosip</c>).</summary>
    public async Task<long> AttachAsync(string plugin, CancellationToken cancellationToken)
    {
        var reply = await PostAsync(_http, _sessionUri, new JsonObject { ["janus"] = "attach", ["plugin"] = plugin }, _apiSecret,
            cancellationToken).ConfigureAwait(false);
        return DataId(reply);
    }

    /// <summary>
    /// Sends <paramref name="body"/> (and <paramref name="jsep"/>) to a handle's plugin and waits for its answer: a
    /// synchronous one at once, an asynchronous one when the long poll brings the event with our transaction.
    /// </summary>
    public async Task<JanusPluginEvent> MessageAsync(long handle, JsonObject body, JsonObject? jsep, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        string transaction = NewTransaction();
        var waiter = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[transaction] = waiter;
        try
        {
            var request = new JsonObject { ["janus"] = "message", ["body"] = body };
            if (jsep is not null) request["jsep"] = jsep;
            var reply = await PostAsync(_http, HandleUri(handle), request, _apiSecret, cancellationToken, transaction).ConfigureAwait(false);
            JsonObject answer = Kind(reply) == "success"
                ? reply
                : await waiter.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            if (Kind(answer) == "error") throw new JanusApiException(ErrorText(answer));
            if (answer["plugindata"]?["data"] is not JsonObject data) throw new JanusApiException("a plugin reply without plugindata.data");
            if (data["error"] is { } error) throw new JanusApiException($"plugin error {data["error_code"]}: {error}");
            return new JanusPluginEvent(data, answer["jsep"] as JsonObject);
        }
        catch (TimeoutException)
        {
            throw new JanusApiException($"no answer from Janus within {timeout.TotalSeconds:0} s");
        }
        finally
        {
            _pending.TryRemove(transaction, out _);
        }
    }

    /// <summary>Detaches a handle (its PeerConnection closes); a handle Janus no longer knows is already gone.</summary>
    public async Task DetachAsync(long handle, CancellationToken cancellationToken)
    {
        try
        {
            await PostAsync(_http, HandleUri(handle), new JsonObject { ["janus"] = "detach" }, _apiSecret, cancellationToken).ConfigureAwait(false);
        }
        catch (JanusApiException e) when (e is not JanusTransportException)
        {
            // 459 "no such handle" (Janus ended it first, or restarted): nothing left to detach.
        }
    }

    /// <summary>Detaches a handle within 5 s, ignoring a Janus that is gone (its handles went with it).</summary>
    public async Task DetachQuietlyAsync(long handle)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await DetachAsync(handle, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is JanusTransportException or OperationCanceledException)
        {
            // Janus is gone: its handles went with it.
        }
    }

    private Uri HandleUri(long handle) => new(_sessionUri, handle.ToString(CultureInfo.InvariantCulture));

    private async Task PollAsync()
    {
        string secret = Uri.EscapeDataString(_apiSecret);
        var pollUri = new Uri(_sessionUri.ToString().TrimEnd('/') + "?maxev=10&apisecret=" + secret);
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                // Janus answers an empty long poll with a keepalive after 30 s.
                timeout.CancelAfter(TimeSpan.FromSeconds(45));
                JsonNode? events = await _http.GetFromJsonAsync<JsonNode>(pollUri, timeout.Token).ConfigureAwait(false);
                foreach (var item in events is JsonArray array ? array.OfType<JsonObject>() : events is JsonObject one ? [one] : [])
                {
                    if (!Dispatch(item)) return;
                }
            }
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException or IOException)
        {
            // Janus went away or we stopped: the session is over.
        }
        finally
        {
            foreach (var waiter in _pending.Values) waiter.TrySetException(new JanusApiException("the Janus session ended"));
        }
    }

    /// <summary>Routes one event; false when it says the session itself is gone.</summary>
    private bool Dispatch(JsonObject item)
    {
        string? kind = Kind(item);
        if (kind == "error") return false; // 458: no such session (Janus restarted or timed it out)
        if (item["transaction"] is JsonValue t && t.TryGetValue(out string? transaction) && _pending.TryGetValue(transaction, out var waiter))
        {
            waiter.TrySetResult(item);
            return true;
        }

        if (item["sender"] is not JsonValue s || !s.TryGetValue(out long sender)) return true;
        if (kind is "hangup" or "detached") HandleEnded?.Invoke(sender);
        else if (kind == "webrtcup") HandleUp?.Invoke(sender);
        return true;
    }

    /// <summary>
    /// One request to the API. Its transport faults become <see cref="JanusTransportException"/>: a caller in the middle of
    /// a WHEP or room request handles one kind of Janus failure. The caller's own cancellation stays a cancellation.
    /// </summary>
    private static async Task<JsonObject> PostAsync(HttpClient http, Uri uri, JsonObject request, string apiSecret,
        CancellationToken cancellationToken, string? transaction = null)
    {
        request["transaction"] = transaction ?? NewTransaction();
        request["apisecret"] = apiSecret;
        JsonObject? reply;
        try
        {
            using var response = await http.PostAsJsonAsync(uri, request, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode) throw new JanusApiException($"Janus answered HTTP {(int)response.StatusCode}");
            reply = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            throw new JanusTransportException($"Janus's HTTP API is unreachable: {e.Message}", e);
        }
        catch (JsonException e)
        {
            throw new JanusTransportException($"Janus answered a body that is not a JSON object: {e.Message}", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            // HttpClient.Timeout ends a request as a cancellation nobody asked for.
            throw new JanusTransportException($"Janus's HTTP API did not answer within {http.Timeout.TotalSeconds:0.#} s", e);
        }

        if (reply is null) throw new JanusApiException("Janus answered an empty body");
        if (Kind(reply) == "error") throw new JanusApiException(ErrorText(reply));
        return reply;
    }

    /// <summary>A message's <c>janus</c> member, or null when it has none or it is not a string.</summary>
    private static string? Kind(JsonObject message) => message["janus"] is JsonValue value && value.TryGetValue(out string? kind) ? kind : null;

    private static long DataId(JsonObject reply) =>
        reply["data"]?["id"] is JsonValue id && id.TryGetValue(out long value) ? value : throw new JanusApiException("a Janus reply without data.id");

    private static string ErrorText(JsonObject reply) => $"Janus error {reply["error"]?["code"]}: {reply["error"]?["reason"]}";

    private static string NewTransaction() => Convert.ToHexString(RandomNumberGenerator.GetBytes(8));

    public async ValueTask DisposeAsync()
    {
        if (!_poll.IsCompleted)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await PostAsync(_http, _sessionUri, new JsonObject { ["janus"] = "destroy" }, _apiSecret, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JanusApiException or JsonException)
            {
                // Janus is gone already.
            }
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _poll.ConfigureAwait(false);
        _stop.Dispose();
    }
}
