using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Broadcast.Control.Security;
using Broadcast.Network.Outbound;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Channels;

/// <summary>Who is publishing, as far as the server can tell: what the platform's callback is told beside the key.</summary>
/// <param name="Address">The encoder's address (null when the transport does not give one).</param>
/// <param name="Encoder">What the encoder calls itself: RTMP connect's <c>flashVer</c>, WHIP's User-Agent; null for SRT.</param>
public sealed record PublishCaller(IPAddress? Address, string? Encoder)
{
    public static PublishCaller Unknown { get; } = new(null, null);
}

/// <summary>The platform's answer, or that there was none.</summary>
public enum PublishCallbackOutcome
{
    Allowed,
    Refused,
    Failed,
}

/// <param name="Reason">For a refusal, the platform's reason (one line, at most 200 characters); for a failure, what failed.</param>
public sealed record PublishCallbackAnswer(PublishCallbackOutcome Outcome, string? Reason)
{
    public static PublishCallbackAnswer Allow { get; } = new(PublishCallbackOutcome.Allowed, null);
}

/// <summary>
/// Asks the platform's URL (<see cref="PublishCallbackOptions"/>) whether a publish may go on: a JSON POST naming the
/// channel, the presented key, the protocol, the encoder's address and name. A 2xx allows it; a 4xx refuses it with
/// the answer's reason (a JSON object's <c>reason</c>, or the text itself); anything else (timeout, 3xx, 5xx, an answer
/// over 4 KiB, a refused or unreachable address) is a failure that <see cref="PublishCallbackOptions.OnFailure"/> decides.
/// Answers are kept for <see cref="PublishCallbackOptions.CacheFor"/> per channel, key, protocol and address, and the
/// same question asked while one is on its way waits for that one: a reconnect storm asks once, and a callback that
/// hangs holds only its own channel's publishes.
/// </summary>
public sealed partial class PublishCallback : IDisposable
{
    /// <summary>The most answers kept (keyed by the caller's address among others: bounded).</summary>
    public const int MaxCachedAnswers = 10_000;

    /// <summary>The longest answer read; a refusal's reason is its first 200 characters.</summary>
    public const int MaxAnswerBytes = 4096;

    private const int MaxReasonLength = 200;
    private static readonly TimeSpan FailureCacheCap = TimeSpan.FromSeconds(2);

    private readonly PublishCallbackOptions _options;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ILogger<PublishCallback> _logger;
    private readonly ConcurrentDictionary<string, (PublishCallbackAnswer Answer, long ExpiresAt)> _answers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<PublishCallbackAnswer>>> _asking = new(StringComparer.Ordinal);

    public PublishCallback(PublishCallbackOptions options, OutboundGuard guard, TimeProvider time, ILogger<PublishCallback> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _time = time;
        _logger = logger;
        _http = new HttpClient(OutboundHttp.CreateHandler(guard, options.Timeout)) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("Broadcast", null));
        if (options.Url is { } url && OutboundHttp.RefusalOf(guard, url) is { } refusal)
            throw new InvalidOperationException($"{PublishCallbackOptions.SectionName}:Url is refused by the outbound policy: {refusal}");
    }

    public bool Enabled => _options.Enabled;

    public PublishCallbackFailure OnFailure => _options.OnFailure;

    /// <summary>The platform's answer for a publish of <paramref name="channel"/> (asked, or kept from a moment ago).</summary>
    public async Task<PublishCallbackAnswer> AskAsync(Channel channel, string streamKey, string protocol, PublishCaller caller,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(caller);
        if (_options.Url is not { } url) return PublishCallbackAnswer.Allow;
        string key = CacheKey(channel.Id, streamKey, protocol, caller.Address);
        long now = _time.GetTimestamp();
        if (_answers.TryGetValue(key, out var kept) && now < kept.ExpiresAt) return kept.Answer;

        var asking = _asking.GetOrAdd(key, _ => new Lazy<Task<PublishCallbackAnswer>>(() => AskAndKeepAsync(url, key, channel, streamKey, protocol, caller)));
        // The question runs under its own deadline: a caller that gives up does not cancel it for the others waiting on it.
        return await asking.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<PublishCallbackAnswer> AskAndKeepAsync(Uri url, string key, Channel channel, string streamKey, string protocol,
        PublishCaller caller)
    {
        try
        {
            long started = Stopwatch.GetTimestamp();
            var answer = await AskPlatformAsync(url, channel, streamKey, protocol, caller).ConfigureAwait(false);
            int elapsed = (int)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            string address = caller.Address is { } known ? AddressText(known) : "unknown";
            if (answer.Outcome == PublishCallbackOutcome.Refused)
                LogRefused(channel.Slug, protocol, address, answer.Reason ?? "", elapsed);
            else if (answer.Outcome == PublishCallbackOutcome.Failed)
                LogFailed(channel.Slug, protocol, address, answer.Reason ?? "", elapsed,
                    _options.OnFailure == PublishCallbackFailure.Allow ? "allowed" : "refused");
            Keep(key, answer);
            return answer;
        }
        finally
        {
            _asking.TryRemove(key, out _);
        }
    }

    private async Task<PublishCallbackAnswer> AskPlatformAsync(Uri url, Channel channel, string streamKey, string protocol, PublishCaller caller)
    {
        using var deadline = new CancellationTokenSource(_options.Timeout, _time);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url)
            {
                Content = new ByteArrayContent(Body(channel, streamKey, protocol, caller)),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
            int status = (int)response.StatusCode;
            if (status is >= 200 and < 300) return PublishCallbackAnswer.Allow;
            if (status is < 400 or >= 500) return new(PublishCallbackOutcome.Failed, $"the callback answered {status}");
            byte[] body = await OutboundHttp.ReadCappedAsync(response.Content, MaxAnswerBytes, deadline.Token).ConfigureAwait(false);
            return new(PublishCallbackOutcome.Refused, ReasonOf(body, status));
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return new(PublishCallbackOutcome.Failed, $"the callback did not answer within {(int)_options.Timeout.TotalMilliseconds} ms");
        }
        catch (HttpRequestException e)
        {
            return new(PublishCallbackOutcome.Failed, $"the callback could not be asked: {OneLine(e.Message)}");
        }
    }

    private void Keep(string key, PublishCallbackAnswer answer)
    {
        var lifetime = answer.Outcome == PublishCallbackOutcome.Failed && _options.CacheFor > FailureCacheCap ? FailureCacheCap : _options.CacheFor;
        if (lifetime <= TimeSpan.Zero) return;
        long now = _time.GetTimestamp();
        if (_answers.Count >= MaxCachedAnswers)
        {
            foreach (var (k, v) in _answers)
                if (v.ExpiresAt <= now) _answers.TryRemove(k, out _);
            // Still full of live answers: forget them all rather than grow (the next publishes ask again).
            if (_answers.Count >= MaxCachedAnswers) _answers.Clear();
        }

        _answers[key] = (answer, now + (long)(lifetime.TotalSeconds * _time.TimestampFrequency));
    }

    internal static byte[] Body(Channel channel, string streamKey, string protocol, PublishCaller caller)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("channel", channel.Slug);
            json.WriteString("channelId", channel.Id);
            json.WriteString("streamKey", streamKey);
            json.WriteString("protocol", protocol);
            if (caller.Address is { } address) json.WriteString("clientAddress", AddressText(address));
            else json.WriteNull("clientAddress");
            if (caller.Encoder is { } encoder) json.WriteString("encoder", Truncate(encoder, MaxReasonLength));
            else json.WriteNull("encoder");
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>A refusal's reason: a JSON object's <c>reason</c> string, else the text, as one printable line.</summary>
    internal static string ReasonOf(ReadOnlySpan<byte> body, int status)
    {
        string? reason = null;
        try
        {
            var reader = new Utf8JsonReader(body);
            if (JsonDocument.TryParseValue(ref reader, out var document))
            {
                using (document)
                {
                    if (document.RootElement.ValueKind == JsonValueKind.Object
                        && document.RootElement.TryGetProperty("reason", out var value) && value.ValueKind == JsonValueKind.String)
                        reason = value.GetString();
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Not JSON, or a JSON string that is not UTF-8: the text itself is the reason.
        }

        reason ??= Encoding.UTF8.GetString(body);
        reason = OneLine(reason);
        return reason.Length == 0 ? $"refused by the platform ({status})" : Truncate(reason, MaxReasonLength);
    }

    private static string OneLine(string text)
    {
        var line = new StringBuilder(Math.Min(text.Length, MaxReasonLength + 1));
        foreach (char c in text)
        {
            if (line.Length > MaxReasonLength) break;
            line.Append(char.IsControl(c) || c == '\uFFFD' ? ' ' : c);
        }

        return line.ToString().Trim();
    }

    /// <summary>An IPv4 client of a dual-stack listener as the IPv4 address it is.</summary>
    private static string AddressText(IPAddress address) => (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();

    private static string Truncate(string value, int max) => value.Length <= max ? value : value[..max];

    private static string CacheKey(string channelId, string streamKey, string protocol, IPAddress? address)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(streamKey), digest);
        return $"{channelId}|{protocol}|{(address is null ? "" : AddressText(address))}|{Convert.ToHexString(digest[..12])}";
    }

    public void Dispose() => _http.Dispose();

    [LoggerMessage(EventId = 3621, Level = LogLevel.Information,
        Message = "Publish of channel {Channel} over {Protocol} from {Address} refused by the publish callback in {ElapsedMs} ms: {Reason}")]
    private partial void LogRefused(string channel, string protocol, string address, string reason, int elapsedMs);

    [LoggerMessage(EventId = 3622, Level = LogLevel.Warning,
        Message = "Publish callback for channel {Channel} over {Protocol} from {Address} failed after {ElapsedMs} ms ({Reason}); the publish is {Decision} (PublishCallback:OnFailure)")]
    private partial void LogFailed(string channel, string protocol, string address, string reason, int elapsedMs, string decision);
}
