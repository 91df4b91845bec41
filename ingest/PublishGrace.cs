using Broadcast.Media;

namespace Broadcast.Ingest;

/// <summary>
/// How a publish ends, the same for every ingest protocol: a dropped publisher's broadcast waits for the reconnect
/// grace (<see cref="LiveStreamRegistry.Interrupt"/>), and when the grace runs out with nobody back, the publish ends
/// as an unpublish would: the authorizer is told, so schedules and live state follow.
/// </summary>
internal static class PublishGrace
{
    /// <summary>
    /// Calls <paramref name="onExpired"/> once if <paramref name="stream"/> completes before another publisher resumed it
    /// (in the same epoch). A reconnect hands the broadcast to the new connection, which ends it itself.
    /// <paramref name="resumes"/> is the stream's <see cref="LiveStream.Resumes"/> while the ended publisher held it, read
    /// before the interrupt: a reconnect may resume the stream the moment it waits, and a count read after that would take
    /// the new connection's end of the broadcast for the grace's expiry (the authorizer told twice).
    /// </summary>
    public static void WhenExpired(LiveStream stream, int resumes, Action<LiveStream> onExpired)
    {
        int ended = 0;
        void OnCompleted(LiveStream completed)
        {
            completed.Completed -= OnCompleted;
            if (completed.Resumes != resumes || Interlocked.Exchange(ref ended, 1) != 0) return;
            onExpired(completed);
        }
        stream.Completed += OnCompleted;
        if (stream.IsCompleted) OnCompleted(stream);
    }

    /// <summary>Tells the authorizer the publish ended; a fault there is the caller's to log, never the publisher's.</summary>
    public static async Task NotifyUnpublishedAsync(IPublishAuthorizer authorizer, PublishDecision decision, Action<Exception> onFailed)
    {
        try
        {
            await authorizer.OnUnpublishedAsync(decision, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            onFailed(ex);
        }
    }
}
