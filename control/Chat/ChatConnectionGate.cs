using Broadcast.Network;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Chat;

/// <summary>
/// Wraps the chat hub's endpoint: each hub request holds a <see cref="ClientAddressSlots"/> slot for its life (a
/// WebSocket connection is one request), and a request past the caps is refused before any upgrade: 429 when its
/// address holds too many, 503 when the node does. Negotiation holds no connection and is not counted.
/// </summary>
internal sealed class ChatConnectionGate(RequestDelegate next, ClientAddressSlots limiter, ILogger<ChatConnectionGate> logger)
{
    private const int RetryAfterSeconds = 30;
    private const long LogEveryMilliseconds = 10_000;
    private long _lastLogged = -LogEveryMilliseconds;

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Path.Value?.EndsWith("/negotiate", StringComparison.Ordinal) == true)
        {
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
