using Broadcast.WebRtc.Janus;
using Broadcast.WebRtc.Sdp;
using Microsoft.Extensions.Logging;

namespace Broadcast.WebRtc.Whep;

/// <summary>
/// Takes the first viewer's one-time costs off its path, once per running Janus: a NoSIP handle that processes an offer
/// like a browser's and is detached at once. Janus's first offer on a new instance takes about 0.2 s (its ICE set-up),
/// and our own answer path its first compilation; measured on the first warm viewer's answer, 0.33 s against 0.01 s for
/// the next (event 8201). The offer's credentials are random and nothing ever connects to it.
/// </summary>
internal sealed partial class WhepJanusWarmUp(IJanusClient janus, TimeSpan connectTimeout, ILogger logger, TimeProvider time)
{
    private readonly Lock _gate = new();
    // The Janus instance whose first offer was already processed; a restarted Janus is warmed again.
    private IJanusSession? _warmedUp;

    public async Task RunAsync()
    {
        try
        {
            var session = await janus.GetSessionAsync(CancellationToken.None).WaitAsync(connectTimeout, time).ConfigureAwait(false);
            lock (_gate)
            {
                if (ReferenceEquals(_warmedUp, session)) return;
                _warmedUp = session;
            }

            long started = time.GetTimestamp();
            long handle = await session.AttachAsync(NoSipBridge.Plugin, CancellationToken.None).ConfigureAwait(false);
            try
            {
                var rtpOffer = await NoSipBridge.GenerateAsync(session, handle, NoSipWarmUp.Offer(), CancellationToken.None).ConfigureAwait(false);
                // Our half too: the plain offer read and answered as a viewer's would be (nothing is sent to Janus).
                _ = NoSipAnswer.TryBuild(rtpOffer, 9, 0x42, out _, out _, out _);
            }
            finally
            {
                await session.DetachQuietlyAsync(handle).ConfigureAwait(false);
            }

            LogWarmedUp((int)time.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception e) when (e is JanusApiException or TimeoutException or HttpRequestException or InvalidOperationException
            or OperationCanceledException)
        {
            // The first viewer pays the cost instead; nothing else depends on it.
            LogWarmUpFailed(e.Message);
        }
    }

    [LoggerMessage(EventId = 8210, Level = LogLevel.Debug,
        Message = "WHEP: Janus warmed up for the first viewer (a NoSIP offer processed and dropped in {Ms} ms)")]
    private partial void LogWarmedUp(int ms);

    [LoggerMessage(EventId = 8211, Level = LogLevel.Warning,
        Message = "WHEP: Janus could not be warmed up ({Reason}); the first viewer waits for its first offer")]
    private partial void LogWarmUpFailed(string reason);
}
