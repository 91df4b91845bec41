namespace Broadcast.Control.Dashboard.Schedule;

/// <summary>An event as the dashboard lists it. <see cref="State"/>: scheduled, ready, live, ended, cancelled.</summary>
public sealed record DashboardEvent(
    string Id,
    string ChannelId,
    string Title,
    string? Description,
    DateTimeOffset StartsAt,
    DateTimeOffset EndsAt,
    string State,
    bool Record)
{
    public bool IsOpen => State is "scheduled" or "ready" or "live";
}

/// <summary>What the event form submits. Times are UTC.</summary>
public sealed record DashboardEventInput(string? ChannelId, string? Title, string? Description, DateTimeOffset? StartsAt, DateTimeOffset? EndsAt,
    bool Record);

/// <summary>A finished recording with the VOD playlist a player opens.</summary>
public sealed record DashboardRecording(
    string Id,
    string EventId,
    string ChannelId,
    string Title,
    string HlsUrl,
    string? DashUrl,
    TimeSpan Duration,
    long Bytes,
    DateTimeOffset EndedAt);

/// <summary>
/// The outcome of a create or update: the event, or field errors (camelCase field → messages) and nothing saved.
/// </summary>
public sealed record ScheduleResult(DashboardEvent? Event, IReadOnlyDictionary<string, string[]> Errors)
{
    public bool Succeeded => Event is not null && Errors.Count == 0;

    public static ScheduleResult Invalid(IReadOnlyDictionary<string, string[]> errors) => new(null, errors);
}

/// <summary>
/// Events and recordings as the dashboard and the watch page need them. Owned by the dashboard (its consumer):
/// the control plane's event service implements it over the events table; <see cref="InMemoryDashboardSchedule"/>
/// stands in until that is registered.
/// </summary>
public interface IDashboardSchedule
{
    /// <summary>Events of all channels (or one) that end after <paramref name="from"/> and start before <paramref name="to"/>,
    /// by start time.</summary>
    Task<IReadOnlyList<DashboardEvent>> ListEventsAsync(DateTimeOffset from, DateTimeOffset to, string? channelId,
        CancellationToken cancellationToken);

    Task<DashboardEvent?> GetEventAsync(string id, CancellationToken cancellationToken);

    Task<ScheduleResult> CreateEventAsync(DashboardEventInput input, CancellationToken cancellationToken);

    Task<ScheduleResult> UpdateEventAsync(string id, DashboardEventInput input, CancellationToken cancellationToken);

    /// <summary>Cancels a scheduled or ready event; null when there is no such event.</summary>
    Task<ScheduleResult?> CancelEventAsync(string id, CancellationToken cancellationToken);

    Task<IReadOnlyList<DashboardRecording>> ListRecordingsAsync(string? channelId, CancellationToken cancellationToken);
}
