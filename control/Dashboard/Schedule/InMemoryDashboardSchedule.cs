using System.Collections.Concurrent;
using Broadcast.Control.Channels;

namespace Broadcast.Control.Dashboard.Schedule;

/// <summary>
/// Stand-in for the event service while the events table and its scheduler are being built: keeps events in
/// memory (lost at restart) and applies the same validation rules the API promises (title, end after start,
/// no overlap on a channel), so the dashboard's forms can be built and tested. Replaced by registering another
/// <see cref="IDashboardSchedule"/> before <c>AddDashboard</c>.
/// </summary>
public sealed class InMemoryDashboardSchedule(ChannelService channels, TimeProvider time) : IDashboardSchedule
{
    public const int TitleMaxLength = 200;

    private readonly ConcurrentDictionary<string, DashboardEvent> _events = new(StringComparer.Ordinal);
    private readonly Lock _writeGate = new();

    public Task<IReadOnlyList<DashboardEvent>> ListEventsAsync(DateTimeOffset from, DateTimeOffset to, string? channelId, CancellationToken cancellationToken)
    {
        IReadOnlyList<DashboardEvent> list = _events.Values
            .Select(WithState)
            .Where(e => e.EndsAt > from && e.StartsAt < to && (channelId is null || e.ChannelId == channelId))
            .OrderBy(e => e.StartsAt)
            .ToList();
        return Task.FromResult(list);
    }

    public Task<DashboardEvent?> GetEventAsync(string id, CancellationToken cancellationToken)
        => Task.FromResult(_events.TryGetValue(id, out var e) ? WithState(e) : null);

    public async Task<ScheduleResult> CreateEventAsync(DashboardEventInput input, CancellationToken cancellationToken)
    {
        var errors = await ValidateAsync(null, input, cancellationToken).ConfigureAwait(false);
        if (errors.Count > 0)
        {
            return ScheduleResult.Invalid(errors);
        }

        lock (_writeGate)
        {
            if (Overlaps(null, input) is { } clash)
            {
                return ScheduleResult.Invalid(OverlapError(clash));
            }

            var e = new DashboardEvent(Guid.CreateVersion7().ToString("N"), input.ChannelId!, input.Title!.Trim(), Blank(input.Description),
                input.StartsAt!.Value.ToUniversalTime(), input.EndsAt!.Value.ToUniversalTime(), "scheduled", input.Record);
            _events[e.Id] = e;
            return new ScheduleResult(e, new Dictionary<string, string[]>());
        }
    }

    public async Task<ScheduleResult> UpdateEventAsync(string id, DashboardEventInput input, CancellationToken cancellationToken)
    {
        if (!_events.TryGetValue(id, out var existing))
        {
            return ScheduleResult.Invalid(new Dictionary<string, string[]> { ["id"] = ["No such event."] });
        }

        if (!WithState(existing).IsOpen || WithState(existing).State == "live")
        {
            return ScheduleResult.Invalid(new Dictionary<string, string[]> { ["state"] = [$"A {WithState(existing).State} event cannot be edited."] });
        }

        var errors = await ValidateAsync(id, input, cancellationToken).ConfigureAwait(false);
        if (errors.Count > 0)
        {
            return ScheduleResult.Invalid(errors);
        }

        lock (_writeGate)
        {
            if (Overlaps(id, input) is { } clash)
            {
                return ScheduleResult.Invalid(OverlapError(clash));
            }

            var e = existing with
            {
                ChannelId = input.ChannelId!,
                Title = input.Title!.Trim(),
                Description = Blank(input.Description),
                StartsAt = input.StartsAt!.Value.ToUniversalTime(),
                EndsAt = input.EndsAt!.Value.ToUniversalTime(),
                Record = input.Record,
            };
            _events[id] = e;
            return new ScheduleResult(e, new Dictionary<string, string[]>());
        }
    }

    public Task<ScheduleResult?> CancelEventAsync(string id, CancellationToken cancellationToken)
    {
        if (!_events.TryGetValue(id, out var existing))
        {
            return Task.FromResult<ScheduleResult?>(null);
        }

        var current = WithState(existing);
        if (current.State is not ("scheduled" or "ready"))
        {
            return Task.FromResult<ScheduleResult?>(ScheduleResult.Invalid(new Dictionary<string, string[]> { ["state"] = [$"A {current.State} event cannot be cancelled."] }));
        }

        var cancelled = existing with { State = "cancelled" };
        _events[id] = cancelled;
        return Task.FromResult<ScheduleResult?>(new ScheduleResult(cancelled, new Dictionary<string, string[]>()));
    }

    public Task<IReadOnlyList<DashboardRecording>> ListRecordingsAsync(string? channelId, CancellationToken cancellationToken)
        => Task.FromResult<IReadOnlyList<DashboardRecording>>([]);

    private async Task<Dictionary<string, string[]>> ValidateAsync(string? id, DashboardEventInput input, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(input.ChannelId) || await channels.GetAsync(input.ChannelId, cancellationToken).ConfigureAwait(false) is null)
        {
            errors["channelId"] = ["Choose a channel."];
        }

        var title = input.Title?.Trim();
        if (string.IsNullOrEmpty(title))
        {
            errors["title"] = ["The title is required."];
        }
        else if (title.Length > TitleMaxLength)
        {
            errors["title"] = [$"The title must be at most {TitleMaxLength} characters."];
        }

        if (input.StartsAt is null)
        {
            errors["startsAt"] = ["The start time is required."];
        }
        else if (id is null && input.StartsAt < time.GetUtcNow().AddMinutes(-1))
        {
            errors["startsAt"] = ["The start time is in the past."];
        }

        if (input.EndsAt is null)
        {
            errors["endsAt"] = ["The end time is required."];
        }
        else if (input.StartsAt is { } s && input.EndsAt <= s)
        {
            errors["endsAt"] = ["The end must be after the start."];
        }

        return errors;
    }

    private DashboardEvent? Overlaps(string? id, DashboardEventInput input)
        => _events.Values.FirstOrDefault(e => e.Id != id && e.ChannelId == input.ChannelId && WithState(e).IsOpen
            && e.StartsAt < input.EndsAt && input.StartsAt < e.EndsAt);

    private static Dictionary<string, string[]> OverlapError(DashboardEvent clash)
        => new(StringComparer.Ordinal) { ["startsAt"] = [$"Overlaps \"{clash.Title}\" on this channel ({clash.StartsAt:yyyy-MM-dd HH:mm}–{clash.EndsAt:HH:mm} UTC)."] };

    // Without the scheduler nothing moves events along; derive the state from the clock so the pages show it.
    private DashboardEvent WithState(DashboardEvent e)
    {
        if (e.State == "cancelled")
        {
            return e;
        }

        var now = time.GetUtcNow();
        var state = now >= e.EndsAt ? "ended" : now >= e.StartsAt.AddMinutes(-15) ? "ready" : "scheduled";
        return e with { State = state };
    }

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
