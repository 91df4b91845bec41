using System.Diagnostics;

namespace Broadcast.TestSupport;

/// <summary>Condition-based waiting: poll until true or time out with a message that says why.</summary>
public static class WaitFor
{
    /// <summary>
    /// Polls <paramref name="condition"/> until it returns true. An exception from the condition counts as
    /// "not yet" (a server still starting refuses connections) and is reported if the wait times out.
    /// On timeout throws <see cref="TimeoutException"/> naming <paramref name="what"/> and appending
    /// <paramref name="diagnostics"/>() (e.g. a server log tail).
    /// </summary>
    public static async Task ConditionAsync(
        Func<Task<bool>> condition,
        TimeSpan timeout,
        string what,
        Func<string>? diagnostics = null,
        TimeSpan? pollInterval = null,
        CancellationToken cancellationToken = default)
    {
        var poll = pollInterval ?? TimeSpan.FromMilliseconds(200);
        var sw = Stopwatch.StartNew();
        Exception? last = null;
        var attempts = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            attempts++;
            try
            {
                if (await condition().ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (ConditionFailedException)
            {
                throw;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                last = e;
            }

            if (sw.Elapsed >= timeout)
            {
                var message = $"Timed out after {timeout.TotalSeconds:0.#} s ({attempts} attempts) waiting for: {what}.";
                if (last is not null)
                {
                    message += $"{Environment.NewLine}Last error: {last.GetType().Name}: {last.Message}";
                }

                if (diagnostics is not null)
                {
                    message += $"{Environment.NewLine}--- diagnostics ---{Environment.NewLine}{diagnostics()}";
                }

                throw new TimeoutException(message, last);
            }

            await Task.Delay(poll, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits until the wall clock reaches <paramref name="instant"/>, for a condition that is the time itself: a credential
    /// or token expiring, a scheduled start, a span of watching. Throws <see cref="TimeoutException"/> naming
    /// <paramref name="what"/> at once when the instant lies more than <paramref name="bound"/> ahead.
    /// </summary>
    public static async Task UntilAsync(DateTimeOffset instant, TimeSpan bound, string what, CancellationToken cancellationToken = default)
    {
        var wait = instant - DateTimeOffset.UtcNow;
        if (wait > bound)
            throw new TimeoutException($"Waiting for {what}: {instant:O} is {wait.TotalSeconds:0.#} s away, more than the {bound.TotalSeconds:0.#} s allowed.");
        if (wait > TimeSpan.Zero) await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
        // A timer may fire a little before the wall clock reads the instant.
        while (DateTimeOffset.UtcNow < instant) await Task.Delay(TimeSpan.FromMilliseconds(10), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Synchronous-condition overload.</summary>
    public static Task ConditionAsync(
        Func<bool> condition,
        TimeSpan timeout,
        string what,
        Func<string>? diagnostics = null,
        TimeSpan? pollInterval = null,
        CancellationToken cancellationToken = default) =>
        ConditionAsync(() => Task.FromResult(condition()), timeout, what, diagnostics, pollInterval, cancellationToken);
}

/// <summary>Thrown by a wait condition when it can never become true; <see cref="WaitFor"/> rethrows it at once.</summary>
public class ConditionFailedException(string message) : Exception(message);
