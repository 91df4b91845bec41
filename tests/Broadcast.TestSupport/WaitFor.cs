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
