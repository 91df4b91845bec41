using Broadcast.Control.Events;
using Broadcast.Control.Recordings;
using Broadcast.Refusals;

namespace Broadcast.Control.Dashboard.Schedule;

/// <summary>
/// <see cref="IDashboardSchedule"/> over the control plane's <see cref="EventService"/> and <see cref="RecordingService"/>:
/// the same validation, overlap rule and state machine as the API, with errors mapped to form fields.
/// </summary>
public sealed class ServiceDashboardSchedule(EventService events, RecordingService recordings) : IDashboardSchedule
{
    public async Task<IReadOnlyList<DashboardEvent>> ListEventsAsync(DateTimeOffset from, DateTimeOffset to, string? channelId,
        CancellationToken cancellationToken)
    {
        var list = await events.ListAsync(channelId, from, to, cancellationToken).ConfigureAwait(false);
        return list.Where(e => e.EndsAt > from && e.StartsAt < to).OrderBy(e => e.StartsAt).Select(ToView).ToList();
    }

    public async Task<DashboardEvent?> GetEventAsync(string id, CancellationToken cancellationToken)
        => await events.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } e ? ToView(e) : null;

    public async Task<ScheduleResult> CreateEventAsync(DashboardEventInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        try
        {
            var created = await events.CreateAsync(ToSpec(input), cancellationToken).ConfigureAwait(false);
            return Ok(created);
        }
        catch (Refusal e)
        {
            return ScheduleResult.Invalid(Friendly(FormErrors.Of(e)));
        }
    }

    public async Task<ScheduleResult> UpdateEventAsync(string id, DashboardEventInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        try
        {
            var updated = await events.UpdateAsync(id, ToSpec(input), cancellationToken).ConfigureAwait(false);
            return updated is null
                ? ScheduleResult.Invalid(new Dictionary<string, string[]> { ["id"] = ["The event no longer exists."] })
                : Ok(updated);
        }
        catch (Refusal e)
        {
            return ScheduleResult.Invalid(Friendly(FormErrors.Of(e)));
        }
    }

    public async Task<ScheduleResult?> CancelEventAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            var cancelled = await events.CancelAsync(id, cancellationToken).ConfigureAwait(false);
            return cancelled is null ? null : Ok(cancelled);
        }
        catch (Refusal e)
        {
            return ScheduleResult.Invalid(Friendly(FormErrors.Of(e)));
        }
    }

    public async Task<IReadOnlyList<DashboardRecording>> ListRecordingsAsync(string? channelId, CancellationToken cancellationToken)
    {
        var list = await recordings.ListAsync(channelId, null, cancellationToken).ConfigureAwait(false);
        var result = new List<DashboardRecording>(list.Count);
        foreach (var r in list)
        {
            var title = r.EventId is { } eventId && await events.GetAsync(eventId, cancellationToken).ConfigureAwait(false) is { } ev
                ? ev.Title
                : $"Broadcast of {r.CreatedAt.UtcDateTime:yyyy-MM-dd HH:mm} UTC";
            result.Add(new DashboardRecording(r.Id, r.EventId ?? "", r.ChannelId, title, r.HlsPath, r.DashPath,
                TimeSpan.FromMilliseconds(r.DurationMs), r.SizeBytes, r.CreatedAt));
        }

        return result;
    }

    private static EventSpec ToSpec(DashboardEventInput input)
        => new(input.ChannelId, input.Title, input.Description ?? "", input.StartsAt, input.EndsAt, input.Record);

    private static ScheduleResult Ok(BroadcastEvent e) => new(ToView(e), new Dictionary<string, string[]>());

    private static DashboardEvent ToView(BroadcastEvent e)
        => new(e.Id, e.ChannelId, e.Title, string.IsNullOrEmpty(e.Description) ? null : e.Description, e.StartsAt, e.EndsAt, e.State.ToWire(),
            e.Record);

    // The API's messages name JSON fields ("The channelId is required."); a form shows labels instead.
    private static Dictionary<string, string[]> Friendly(IReadOnlyDictionary<string, string[]> errors)
        => errors.ToDictionary(kv => kv.Key, kv => kv.Value.Select(m => m
            .Replace("The channelId is required.", "Choose a channel.", StringComparison.Ordinal)
            .Replace("The startsAt", "The start time", StringComparison.Ordinal)
            .Replace("The endsAt", "The end time", StringComparison.Ordinal)
            .Replace("startsAt", "the start", StringComparison.Ordinal)
            .Replace("endsAt", "the end", StringComparison.Ordinal)).ToArray(), StringComparer.Ordinal);
}
