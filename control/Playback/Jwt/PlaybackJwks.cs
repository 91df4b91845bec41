using System.Net;
using System.Net.Sockets;
using System.Text;
using Broadcast.Control.Security;
using Broadcast.Network.Outbound;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Playback.Jwt;

/// <summary>
/// The platform's JWKS (<c>Playback:Jwt:JwksUrl</c>), held in memory: fetched at start and every <c>JwksRefreshSeconds</c>, and
/// again when a token names an unknown <c>kid</c> (at most once per <c>JwksMinRefreshSeconds</c>, in the background: a viewer's
/// request never waits on it). Fetched through the outbound URL policy (every address checked is the address connected to; no
/// redirects), within <c>JwksTimeoutSeconds</c> for the whole exchange and <c>JwksMaxBytes</c> of body. A failed fetch keeps the
/// keys in force and is logged with its own event id.
/// </summary>
public sealed partial class PlaybackJwks : IDisposable
{
    private readonly PlaybackJwtOptions _options;
    private readonly OutboundGuard _guard;
    private readonly TimeProvider _time;
    private readonly ILogger<PlaybackJwks> _logger;
    private readonly HttpClient _http;
    private volatile PlaybackJwtKeySet _keys = PlaybackJwtKeySet.Empty;
    private string? _body;
    private long _lastAsked;
    private int _busy;

    public PlaybackJwks(PlaybackJwtOptions options, OutboundGuard guard, TimeProvider time, ILogger<PlaybackJwks> logger)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _guard = guard ?? throw new ArgumentNullException(nameof(guard));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _http = new HttpClient(OutboundHttp.CreateHandler(guard, options.JwksTimeout)) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>The JWKS's keys in force (empty before the first good fetch).</summary>
    public PlaybackJwtKeySet Keys => _keys;

    /// <summary>How many fetches were started (tests and metrics).</summary>
    public int Fetches => Volatile.Read(ref _fetches);

    private int _fetches;

    /// <summary>
    /// Asked from the request path when a token names a <c>kid</c> no key has: starts one background fetch unless one runs or the
    /// last started less than <c>JwksMinRefreshSeconds</c> ago. Never waits.
    /// </summary>
    public void RequestRefresh(string? keyId)
    {
        if (Volatile.Read(ref _busy) != 0) return;
        long last = Interlocked.Read(ref _lastAsked);
        if (last != 0 && _time.GetElapsedTime(last) < _options.JwksMinRefresh) return;
        if (Interlocked.CompareExchange(ref _lastAsked, _time.GetTimestamp(), last) != last) return;
        LogUnknownKeyRefresh(keyId is { Length: > 64 } ? keyId[..64] : keyId ?? "(none)");
        _ = Task.Run(() => RefreshAsync(CancellationToken.None));
    }

    /// <summary>One fetch (none when another runs: false); true when a JWKS was read (changed or not).</summary>
    public async Task<bool> RefreshAsync(CancellationToken cancellationToken)
    {
        if (_options.JwksUrl is not { } url || Interlocked.Exchange(ref _busy, 1) != 0) return false;
        try
        {
            Interlocked.Increment(ref _fetches);
            string body = await FetchAsync(url, cancellationToken).ConfigureAwait(false);
            if (body == _body) return true;
            var skipped = new List<string>();
            var keys = PlaybackJwtKeySet.ParseJwks(body, skipped);
            foreach (string s in skipped) LogKeySkipped(url, s);
            if (keys.Count == 0) throw new FormatException("it holds no usable signing key");
            _keys = _keys.With(keys);
            _body = body;
            LogLoaded(url, keys.Count, string.Join(",", keys.Select(k => k.KeyId ?? "-")));
            return true;
        }
        catch (JwksRefusedException e)
        {
            LogRefusedByPolicy(url, e.Message);
        }
        catch (OutboundAnswerTooLargeException)
        {
            LogTooLarge(url, _options.JwksMaxBytes);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogTimedOut(url, (int)_options.JwksTimeout.TotalSeconds);
        }
        catch (FormatException e)
        {
            LogMalformed(url, e.Message);
        }
        catch (HttpRequestException e) when ((e as OutboundRefusedException ?? e.InnerException as OutboundRefusedException) is { } refused)
        {
            LogRefusedByPolicy(url, refused.Message);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or SocketException or DecoderFallbackException)
        {
            LogFailed(url, e.Message);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }

        return false;
    }

    private async Task<string> FetchAsync(Uri url, CancellationToken cancellationToken)
    {
        if (OutboundHttp.RefusalOf(_guard, url) is { } refusal) throw new JwksRefusedException(refusal);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(_options.JwksTimeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.ParseAdd("application/jwk-set+json, application/json");
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, bounded.Token).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.OK)
            throw new HttpRequestException($"answered {(int)response.StatusCode} {response.ReasonPhrase} (redirects are not followed)");
        byte[] body = await OutboundHttp.ReadCappedAsync(response.Content, _options.JwksMaxBytes, bounded.Token).ConfigureAwait(false);
        return new UTF8Encoding(false, true).GetString(body);
    }

    public void Dispose() => _http.Dispose();

    private sealed class JwksRefusedException(string reason) : Exception(reason);

    [LoggerMessage(EventId = 3810, Level = LogLevel.Information, Message = "Playback JWKS {JwksUrl} loaded: {Count} key(s), kid {KeyIds}")]
    private partial void LogLoaded(Uri jwksUrl, int count, string keyIds);

    [LoggerMessage(EventId = 3811, Level = LogLevel.Warning,
        Message = "Playback JWKS {JwksUrl} refused by the outbound policy: {Reason}; the keys in force stay (Outbound:AllowedHosts allows it)")]
    private partial void LogRefusedByPolicy(Uri jwksUrl, string reason);

    [LoggerMessage(EventId = 3812, Level = LogLevel.Warning,
        Message = "Playback JWKS {JwksUrl} is larger than {MaxBytes} bytes (Playback:Jwt:JwksMaxBytes); the keys in force stay")]
    private partial void LogTooLarge(Uri jwksUrl, int maxBytes);

    [LoggerMessage(EventId = 3813, Level = LogLevel.Warning,
        Message = "Playback JWKS {JwksUrl} did not arrive within {Seconds} s (Playback:Jwt:JwksTimeoutSeconds); the keys in force stay")]
    private partial void LogTimedOut(Uri jwksUrl, int seconds);

    [LoggerMessage(EventId = 3814, Level = LogLevel.Warning, Message = "Playback JWKS {JwksUrl} is malformed: {Reason}; the keys in force stay")]
    private partial void LogMalformed(Uri jwksUrl, string reason);

    [LoggerMessage(EventId = 3815, Level = LogLevel.Warning, Message = "Playback JWKS {JwksUrl} could not be fetched: {Reason}; the keys in force stay")]
    private partial void LogFailed(Uri jwksUrl, string reason);

    [LoggerMessage(EventId = 3816, Level = LogLevel.Warning, Message = "Playback JWKS {JwksUrl}: key skipped, {Detail}")]
    private partial void LogKeySkipped(Uri jwksUrl, string detail);

    [LoggerMessage(EventId = 3817, Level = LogLevel.Information, Message = "Playback JWT with unknown key id {KeyId}: fetching the JWKS again")]
    private partial void LogUnknownKeyRefresh(string keyId);
}

/// <summary>Fetches the JWKS at start, then every <c>Playback:Jwt:JwksRefreshSeconds</c> (sooner after a failure).</summary>
public sealed class PlaybackJwksRefresher(PlaybackJwks jwks, PlaybackJwtOptions options, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                bool ok = await jwks.RefreshAsync(stoppingToken).ConfigureAwait(false);
                var wait = ok ? options.JwksRefresh : TimeSpan.FromTicks(Math.Min(options.JwksRefresh.Ticks, Math.Max(options.JwksMinRefresh.Ticks,
                    TimeSpan.FromSeconds(5).Ticks)));
                await Task.Delay(wait, time, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
