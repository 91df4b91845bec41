namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// What a connection that has not published yet must keep up, so that a stranger cannot hold a connection slot for
/// free: publish within Rtmp:PublishTimeoutSeconds of accept, and send at least Rtmp:MinBytesPerSecondBeforePublish
/// on average (slowloris). Both stop counting once the connection published.
/// </summary>
internal sealed class RtmpPrePublishLimits(RtmpOptions options)
{
    private readonly long _startedMs = Environment.TickCount64;

    public bool EverPublished { get; private set; }

    /// <summary>What the close logs when the wait last armed by <see cref="Arm"/> runs out.</summary>
    public string TimeoutReason { get; private set; } = "";

    /// <summary>The wait last armed ran out on the publish deadline: counted and logged as a slow client.</summary>
    public bool TimeoutIsSlowClient { get; private set; }

    public void MarkPublished() => EverPublished = true;

    /// <summary>
    /// The timeout of the next wait: the phase's own <paramref name="limit"/>, cut short by Rtmp:PublishTimeoutSeconds
    /// (counted from accept) while the connection has not published yet. The reason is what the close logs.
    /// </summary>
    public TimeSpan Arm(TimeSpan limit, string reason)
    {
        TimeoutReason = reason;
        TimeoutIsSlowClient = false;
        if (!EverPublished && options.PublishTimeoutSeconds > 0)
        {
            var left = TimeSpan.FromMilliseconds(_startedMs + options.PublishTimeoutSeconds * 1000L - Environment.TickCount64);
            if (left <= limit)
            {
                limit = left > TimeSpan.Zero ? left : TimeSpan.Zero;
                TimeoutReason = $"not publishing within {options.PublishTimeoutSeconds} s of connecting (Rtmp:PublishTimeoutSeconds)";
                TimeoutIsSlowClient = true;
            }
        }
        return limit;
    }

    /// <summary>
    /// Slowloris: before its first publish, a connection must keep up an average of Rtmp:MinBytesPerSecondBeforePublish
    /// since accept (after a short grace). <paramref name="received"/> counts bytes consumed and those not consumed yet.
    /// </summary>
    public void CheckSlowClient(long received)
    {
        if (EverPublished || options.MinBytesPerSecondBeforePublish <= 0) return;
        long elapsedMs = Environment.TickCount64 - _startedMs;
        if (elapsedMs < options.SlowClientGraceSeconds * 1000L) return;
        if (received * 1000 >= (long)options.MinBytesPerSecondBeforePublish * elapsedMs) return;
        throw new RtmpCloseException(
            $"{received} bytes in {elapsedMs / 1000.0:F1} s before publishing, below {options.MinBytesPerSecondBeforePublish} bytes/s " +
            "(Rtmp:MinBytesPerSecondBeforePublish)",
            slowClient: true);
    }
}
