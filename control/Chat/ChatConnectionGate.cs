using Broadcast.Network;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Chat;

/// <summary>
/// Wraps the chat hub's endpoint: each hub request holds a <see cref="ClientAddressSlots"/> slot for its life (a
/// WebSocket connection is one request), and a request past the caps is refused before any upgrade: 429 when its
/// address holds too many, 503 when the node does. Negotiation holds no connection and is not counted.
/// Every hub request has a body cap, applied before the body is read, with or without a Content-Length: negotiation
/// sends no body at all, and a long-polling send carries at most one transport buffer of hub messages. Without the cap
/// Kestrel's default (28.6 MB) applied to both (413 past it).
/// </summary>
internal sealed class ChatConnectionGate(RequestDelegate next, ClientAddressSlots limiter, ILogger<ChatConnectionGate> logger)
{
    private const int RetryAfterSeconds = 30;
    private const long LogEveryMilliseconds = 10_000;

    /// <summary>The most a negotiate request may carry: SignalR's clients send none.</summary>
    public const long MaxNegotiateBodyBytes = 1024;

    /// <summary>The most a long-polling send may carry: the hub's transport buffer.</summary>
    public const long MaxSendBodyBytes = ChatServiceCollectionExtensions.MaxTransportBufferBytes;
    private long _lastLogged = -LogEveryMilliseconds;

    public async Task InvokeAsync(HttpContext context)
    {
        var negotiate = context.Request.Path.Value?.EndsWith("/negotiate", StringComparison.Ordinal) == true;
        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = negotiate ? MaxNegotiateBodyBytes : MaxSendBodyBytes;
        }

        if (negotiate)
        {
            // SignalR never reads a negotiate body, so the cap alone would not stop one: read what came, within the cap.
            if (!await DrainWithinCapAsync(context).ConfigureAwait(false)) return;
            await next(context).ConfigureAwait(false);
            return;
        }

        var address = context.Connection.RemoteIpAddress;
        var admission = limiter.TryEnter(address);
        if (admission != AddressAdmission.Admitted)
        {
            await RefuseAsync(context, admission).ConfigureAwait(false);
            return;
        }

        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            limiter.Release(address);
        }
    }

    /// <summary>Reads and drops a request's body; past the body cap, answers 413 and returns false.</summary>
    private static async Task<bool> DrainWithinCapAsync(HttpContext context)
    {
        if (context.Request.ContentLength is 0 || (context.Request.ContentLength is null && !context.Request.Headers.TransferEncoding.Any())) return true;
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            while (await context.Request.Body.ReadAsync(buffer, context.RequestAborted).ConfigureAwait(false) > 0)
            {
            }

            return true;
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            return false;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task RefuseAsync(HttpContext context, AddressAdmission admission)
    {
        var addressFull = admission == AddressAdmission.AddressFull;
        if (ShouldLog())
        {
            if (addressFull) ChatLog.AddressConnectionCap(logger, limiter.MaxPerAddress);
            else ChatLog.ServerConnectionCap(logger, limiter.MaxTotal);
        }

        context.Response.StatusCode = addressFull ? StatusCodes.Status429TooManyRequests : StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await context.Response.WriteAsync(addressFull ? "Too many chat connections from this address." : "The chat is full on this server.",
            context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>At most one refusal log line every 10 s, so a client hammering the cap cannot flood the log.</summary>
    private bool ShouldLog()
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastLogged);
        return now - last >= LogEveryMilliseconds && Interlocked.CompareExchange(ref _lastLogged, now, last) == last;
    }
}
