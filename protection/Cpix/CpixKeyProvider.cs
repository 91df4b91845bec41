using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Broadcast.Control.Security;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Live;
using Microsoft.Extensions.Logging;

namespace Broadcast.Protection.Cpix;

/// <summary>
/// Content keys from a DRM vendor's key server over CPIX (SPEKE v2.0: a CPIX 2.3 document POSTed as
/// <c>application/xml</c> with <c>X-Speke-Version: 2.0</c>; the answer is the document filled in). A new broadcast asks
/// for a fresh random KID; a broadcast continued after its node died asks again for its own KID under the same content
/// ID (the channel), and the key server, which keeps its keys by KID, answers the same key: so this server stores no
/// vendor key, and the vendor's license servers (not ours) give players the key. The grant carries each asked system's
/// pssh, the HLS key tags it gave (FairPlay's, Widevine's…), and no ClearKey license URL or key URL (an <c>aes-128</c> channel is refused: its key is this server's own).
/// Any fault (the server unreachable, slow past the timeout, an error status, an answer too long, malformed or not for
/// the KID asked) is a <see cref="CpixRefusedException"/> naming it, which refuses the broadcast's packaging; the key
/// itself is never logged, nor put in a URL. With a recipient key configured the request names its certificate and an
/// encrypted key is decrypted here (<see cref="CpixDeliveryData"/>); with a signing key, the request is signed
/// (<see cref="CpixSigner"/>).
/// </summary>
public sealed class CpixKeyProvider : IContentKeyProvider, IDisposable
{
    private readonly CpixOptions _options;
    private readonly Uri _url;
    private readonly IReadOnlyList<UInt128> _systems;
    private readonly HttpClient _http;
    private readonly ILogger _logger;
    private readonly CpixRecipient? _recipient;
    private readonly CpixSigner? _signer;
    private readonly CpixAnswerSignature? _answerSignature;

    public CpixKeyProvider(CpixOptions options, ILogger<CpixKeyProvider> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        // The key pairs are loaded (and checked) once, here, not again by a full Validate.
        _url = options.ValidateSettings();
        _systems = options.SystemIds();
        _recipient = options.Recipient();
        _signer = options.Signer();
        _answerSignature = options.AnswerSignature();
        _logger = logger;
        // An operator's own URL, not a platform's: no outbound policy, but no redirect (a key server's answer is its
        // document, not another address), no cookies, and no proxy from the environment between us and the keys.
        _http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(options.TimeoutSeconds),
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        })
        { Timeout = Timeout.InfiniteTimeSpan };
    }

    public async ValueTask<ContentKeyGrant> KeyForAsync(string channel, EncryptionScheme scheme, KeyId? continuing, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        try
        {
            if (scheme == EncryptionScheme.Aes128)
                throw new CpixRefusedException("an aes-128 channel's key is served by this server's key route, which a CPIX key server's keys do not reach: " +
                    "use cenc or cbcs with a DRM key server");
            var kid = continuing ?? KeyId.FromBytes(RandomNumberGenerator.GetBytes(16));
            var started = Stopwatch.GetTimestamp();
            byte[] request = CpixRequest.Write(channel, kid, scheme, _systems, _recipient?.Certificate);
            if (_signer is not null) request = _signer.Sign(request);
            byte[] answer = await AskAsync(request, cancellationToken).ConfigureAwait(false);
            if (_answerSignature is not null) answer = _answerSignature.Verify(answer);
            var keys = CpixAnswer.Read(answer, kid, scheme, _systems, _recipient);
            _logger.LogCpixKey(channel, kid.ToUuidString(), string.Join(", ", _systems.Select(KeyId.UuidText)),
                (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return new ContentKeyGrant(keys.Key, keys.Systems) { HlsKeys = keys.HlsKeys };
        }
        catch (CpixRefusedException e)
        {
            _logger.LogCpixRefused(channel, _url.GetLeftPart(UriPartial.Path), e.Message);
            throw;
        }
    }

    private async Task<byte[]> AskAsync(byte[] request, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(_options.TimeoutSeconds));
        using var message = new HttpRequestMessage(HttpMethod.Post, _url) { Content = new ByteArrayContent(request) };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/xml");
        message.Headers.TryAddWithoutValidation("X-Speke-Version", "2.0");
        if (_options.HeaderValue is { } value) message.Headers.TryAddWithoutValidation(_options.HeaderName, value);
        try
        {
            using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                throw new CpixRefusedException($"the key server answered {(int)response.StatusCode} {response.ReasonPhrase}");
            return await OutboundHttp.ReadCappedAsync(response.Content, _options.MaxResponseBytes, timeout.Token).ConfigureAwait(false);
        }
        catch (OutboundAnswerTooLargeException)
        {
            throw new CpixRefusedException($"the key server's answer is longer than {_options.MaxResponseBytes} bytes (Protection:Cpix:MaxResponseBytes)");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CpixRefusedException($"the key server did not answer within {_options.TimeoutSeconds} s (Protection:Cpix:TimeoutSeconds)");
        }
        catch (HttpRequestException e)
        {
            throw new CpixRefusedException($"the key server could not be reached: {e.Message}", e);
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        _recipient?.Dispose();
        _signer?.Dispose();
        _answerSignature?.Dispose();
    }
}

/// <summary>The CPIX key provider's log messages (event ids 9500-9519, carved from the server's range for protection/).</summary>
internal static partial class CpixLog
{
    [LoggerMessage(EventId = 9500, Level = LogLevel.Warning,
        Message = "{Channel}: the CPIX key server {KeyServer} gave no usable key, the broadcast is not packaged: {Reason}")]
    public static partial void LogCpixRefused(this ILogger logger, string channel, string keyServer, string reason);

    [LoggerMessage(EventId = 9501, Level = LogLevel.Information,
        Message = "{Channel}: key {Kid} from the CPIX key server with systems {Systems} in {ElapsedMs} ms")]
    public static partial void LogCpixKey(this ILogger logger, string channel, string kid, string systems, long elapsedMs);
}
