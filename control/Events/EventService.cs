using Broadcast.Control.Channels;
using Broadcast.Control.Persistence;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Events;

/// <summary>
/// Told when an event's times or state changed so the schedule can follow. The scheduler implements it;
/// the events table stays the source of truth, so a missed call is repaired at the next start.
/// </summary>
public interface IEventScheduleSink
{
    Task EventChangedAsync(BroadcastEvent ev, CancellationToken cancellationToken);

    Task EventRemovedAsync(string eventId, CancellationToken cancellationToken);
}

/// <summary>Scheduled events: validation, the state machine, and the publish-window rule.</summary>
public sealed partial class EventService(
    IEventRepository repository,
    ChannelService channels,
    ControlSettings settings,
    TimeProvider time,
    IEnumerable<IEventScheduleSink> sinks,
    IBroadcastTerminator terminator,
    IPublishRuleChanges changes,
    ILogger<EventService> logger,
    Webhooks.WebhookOutbox? webhooks = null)
{
    public const int TitleMaxLength = 200;
    public const int DescriptionMaxLength = 4000;

    /// <summary>An event longer than this is almost certainly a typo in the date.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromDays(7);

    private static readonly EventState[] Editable = [EventState.Scheduled, EventState.Ready];
    private static readonly EventState[] Open = [EventState.Scheduled, EventState.Ready, EventState.Live];

    /// <summary>Publishing opens this long before the start (<c>Events:PublishLeadSeconds</c>, default 15 min).</summary>
    public TimeSpan PublishLead => settings.PublishLead;

    /// <summary>After this long past the start without a publisher the event is marked late.</summary>
    public TimeSpan LateAfter => settings.LateAfter;

    public Task<BroadcastEvent?> GetAsync(string id, CancellationToken cancellationToken = default) => repository.GetAsync(id, cancellationToken);

    public Task<IReadOnlyList<BroadcastEvent>> ListAsync(string? channelId, DateTimeOffset? from, DateTimeOffset? to,
        CancellationToken cancellationToken = default)
        => repository.ListAsync(channelId, from, to, cancellationToken);

    public Task<IReadOnlyList<BroadcastEvent>> ListOpenAsync(CancellationToken cancellationToken = default)
        => repository.ListOpenAsync(null, cancellationToken);

    /// <exception cref="ValidationFailedException">A field is invalid, the channel is unknown or the time overlaps another event.</exception>
    public async Task<BroadcastEvent> CreateAsync(EventSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var now = time.GetUtcNow();
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(spec.ChannelId)) errors["channelId"] = ["The channelId is required."];
        ValidateFields(spec, errors, requireAll: true);
        if (spec.StartsAt is null) errors.TryAdd("startsAt", ["The startsAt is required."]);
        if (spec.EndsAt is null) errors.TryAdd("endsAt", ["The endsAt is required."]);
        ValidateTimes(spec.StartsAt, spec.EndsAt, now, errors);
        ThrowIf(errors);

        var channel = await channels.GetAsync(spec.ChannelId!, cancellationToken).ConfigureAwait(false)
            ?? throw ValidationFailedException.For("channelId", $"No channel has id '{spec.ChannelId}'.");
        var ev = new BroadcastEvent(
            Id: RowId.New(now),
            ChannelId: channel.Id,
            Title: spec.Title!.Trim(),
            Description: spec.Description?.Trim() ?? "",
            StartsAt: Sql.Millis(spec.StartsAt!.Value),
            EndsAt: Sql.Millis(spec.EndsAt!.Value),
            Record: spec.Record ?? false,
            State: EventState.Scheduled,
            Late: false,
            LiveAt: null,
            EndedAt: null,
            CreatedAt: Sql.Millis(now),
            UpdatedAt: Sql.Millis(now));
        await CheckOverlapAsync(ev, cancellationToken).ConfigureAwait(false);
        var result = await repository.InsertAsync(ev, cancellationToken).ConfigureAwait(false);
        switch (result)
        {
            case EventWriteResult.Overlap: throw OverlapError(null);
            case EventWriteResult.NoChannel: throw ValidationFailedException.For("channelId", $"No channel has id '{spec.ChannelId}'.");
        }

        LogCreated(ev.Id, ev.ChannelId, ev.StartsAt, ev.EndsAt);
        await NotifyChangedAsync(ev, cancellationToken).ConfigureAwait(false);
        return ev;
    }

    /// <summary>
    /// Changes an event. Null fields of <paramref name="spec"/> keep their value (PATCH); for PUT the caller
    /// passes every field. A scheduled or ready event may change anything; a live one only its title,
    /// description, record flag and end; ended and cancelled events are history. Null when no such event.
    /// </summary>
    /// <exception cref="ValidationFailedException">A field is invalid or the new time overlaps another event.</exception>
    /// <exception cref="ConflictException">The event is ended or cancelled, or live and the start or channel would change.</exception>
    public async Task<BroadcastEvent?> UpdateAsync(string id, EventSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var current = await repository.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (current is null) return null;
        var now = time.GetUtcNow();
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        ValidateFields(spec, errors, requireAll: false);
        if (spec.ChannelId is not null && spec.ChannelId != current.ChannelId)
            errors["channelId"] = ["An event cannot move to another channel; cancel it and create a new one."];
        var startsAt = spec.StartsAt is { } s ? Sql.Millis(s) : current.StartsAt;
        var endsAt = spec.EndsAt is { } e ? Sql.Millis(e) : current.EndsAt;
        if (spec.StartsAt is not null || spec.EndsAt is not null)
            ValidateTimes(startsAt, endsAt, now, errors, checkPast: spec.EndsAt is not null || current.EndsAt > now);
        ThrowIf(errors);

        switch (current.State)
        {
            case EventState.Ended or EventState.Cancelled:
                throw new ConflictException($"The event is {current.State.ToWire()} and can no longer change.");
            case EventState.Live when startsAt != current.StartsAt:
                throw new ConflictException("The event is live: its start can no longer change (its end, title, description and record flag can).");
        }

        var updated = current with
        {
            Title = spec.Title?.Trim() ?? current.Title,
            Description = spec.Description?.Trim() ?? current.Description,
            StartsAt = startsAt,
            EndsAt = endsAt,
            Record = spec.Record ?? current.Record,
            UpdatedAt = Sql.Millis(now),
        };
        await CheckOverlapAsync(updated, cancellationToken).ConfigureAwait(false);
        var result = await repository.UpdateAsync(updated, cancellationToken).ConfigureAwait(false);
        switch (result)
        {
            case EventWriteResult.Overlap: throw OverlapError(null);
            case EventWriteResult.NotFound: return null;
        }

        // A window moved into the future closes again until the open job runs.
        if (current.State == EventState.Ready && updated.OpensAt(PublishLead) > now)
        {
            await repository.TransitionAsync(id, [EventState.Ready], EventState.Scheduled, now,
                cancellationToken: cancellationToken).ConfigureAwait(false);
            updated = updated with { State = EventState.Scheduled };
        }

        await NotifyChangedAsync(updated, cancellationToken).ConfigureAwait(false);
        return updated;
    }

    /// <summary>Cancels a scheduled or ready event. Null when no such event.</summary>
    /// <exception cref="ConflictException">The event is live (end it instead), ended or already cancelled.</exception>
    public async Task<BroadcastEvent?> CancelAsync(string id, CancellationToken cancellationToken = default)
    {
        var current = await repository.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (current is null) return null;
        if (!await repository.TransitionAsync(id, Editable, EventState.Cancelled, time.GetUtcNow(),
            cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var now = await repository.GetAsync(id, cancellationToken).ConfigureAwait(false);
            throw new ConflictException(now?.State == EventState.Live
                ? "The event is live; end it with POST /api/events/{id}/end instead of cancelling."
                : $"The event is {now?.State.ToWire() ?? "gone"} and cannot be cancelled.");
        }

        LogCancelled(id);
        var cancelled = await repository.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (cancelled is not null) await NotifyChangedAsync(cancelled, cancellationToken).ConfigureAwait(false);
        return cancelled;
    }

    /// <summary>
    /// Ends the event (schedule or admin): no more publishes in its window, the live broadcast is
    /// disconnected so the live manifests end and the recording is finalised. Idempotent: a second
    /// call (another node's trigger, or the admin after the schedule) returns the ended event.
    /// Null when no such event.
    /// </summary>
    /// <exception cref="ConflictException">The event was cancelled.</exception>
    public async Task<BroadcastEvent?> EndAsync(string id, string reason, CancellationToken cancellationToken = default)
    {
        var current = await repository.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (current is null) return null;
        if (current.State == EventState.Cancelled) throw new ConflictException("The event was cancelled.");
        var now = time.GetUtcNow();
        var wasLive = current.State == EventState.Live;
        if (await repository.TransitionAsync(id, Open, EventState.Ended, now, endedAt: now,
            cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            LogEnded(id, reason);
            // Disconnect even when the state was not live yet: a publisher may have just connected.
            var channel = await channels.GetAsync(current.ChannelId, cancellationToken).ConfigureAwait(false);
            await TellAsync(Webhooks.WebhookEventTypes.EventEnded, current, channel?.Slug, now, reason, cancellationToken).ConfigureAwait(false);
            if (channel is not null)
            {
                var ended = await terminator.EndBroadcastAsync(channel, reason, cancellationToken).ConfigureAwait(false);
                if (ended || wasLive) LogBroadcastEnded(id, channel.Slug);
            }
        }

        var result = await repository.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (result is not null) await NotifyChangedAsync(result, cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>Deletes an event that is not live. False when no such event.</summary>
    /// <exception cref="ConflictException">The event is live.</exception>
    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        var current = await repository.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (current is null) return false;
        if (current.State == EventState.Live) throw new ConflictException("The event is live; end it before deleting it.");
        var deleted = await repository.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
        if (deleted)
        {
            foreach (var sink in sinks) await sink.EventRemovedAsync(id, cancellationToken).ConfigureAwait(false);
            await AnnounceAsync(current.ChannelId, cancellationToken).ConfigureAwait(false);
        }

        return deleted;
    }

    /// <summary>Schedule job: the window opened (scheduled → ready). True when this call made the change.</summary>
    public async Task<bool> OpenWindowAsync(string id, CancellationToken cancellationToken = default)
    {
        var changed = await repository.TransitionAsync(id, [EventState.Scheduled], EventState.Ready, time.GetUtcNow(),
            cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        if (changed) LogWindowOpened(id);
        return changed;
    }

    /// <summary>Schedule job: the start passed without a publisher. True when this call set the flag.</summary>
    public async Task<bool> MarkLateAsync(string id, CancellationToken cancellationToken = default)
    {
        var changed = await repository.MarkLateAsync(id, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (changed) LogLate(id);
        return changed;
    }

    /// <summary>The open event whose window contains <paramref name="now"/>, if any.</summary>
    public async Task<BroadcastEvent?> FindCurrentAsync(string channelId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var open = await repository.ListOpenAsync(channelId, cancellationToken).ConfigureAwait(false);
        return open.FirstOrDefault(e => e.InWindow(now, PublishLead));
    }

    /// <summary>
    /// Whether <paramref name="channel"/> may publish at <paramref name="now"/>. Channels without
    /// RequireSchedule always may (the current event, if any, is returned). Otherwise only inside an
    /// open event's window [start − lead, end); the reason names the next event when there is one.
    /// Decided from the events' times, not from whether the open job already ran.
    /// </summary>
    public async Task<PublishPermission> CanPublishAsync(Channel channel, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channel);
        var open = await repository.ListOpenAsync(channel.Id, cancellationToken).ConfigureAwait(false);
        var current = open.FirstOrDefault(e => e.InWindow(now, PublishLead));
        if (current is not null || !channel.RequireSchedule) return PublishPermission.Allow(current);

        var next = open.FirstOrDefault(e => e.OpensAt(PublishLead) > now);
        return PublishPermission.Deny(next is null
            ? $"channel '{channel.Slug}' publishes only during scheduled events and none is scheduled"
            : $"no event scheduled now; next event '{Shorten(next.Title)}' opens at {next.OpensAt(PublishLead):yyyy-MM-dd HH:mm:ss}Z");
    }

    /// <summary>A publisher went live on the channel: the event in window becomes live (ready or scheduled → live).</summary>
    public async Task<BroadcastEvent?> OnPublishedAsync(string channelId, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var current = await FindCurrentAsync(channelId, now, cancellationToken).ConfigureAwait(false);
        if (current is null) return null;
        if (current.State != EventState.Live
            && await repository.TransitionAsync(current.Id, Editable, EventState.Live, now, liveAt: now,
                cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            LogLive(current.Id);
            var channel = await channels.GetAsync(channelId, cancellationToken).ConfigureAwait(false);
            await TellAsync(Webhooks.WebhookEventTypes.EventStarted, current, channel?.Slug, now, null, cancellationToken).ConfigureAwait(false);
        }

        return await repository.GetAsync(current.Id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>event.started</c> (the event went live) or <c>event.ended</c> to the platform's webhooks, written right after the
    /// transition. A failed write is logged, never thrown: the publish or the end goes on.
    /// </summary>
    private async Task TellAsync(string type, BroadcastEvent ev, string? slug, DateTimeOffset at, string? reason, CancellationToken cancellationToken)
    {
        if (webhooks is null) return;
        try
        {
            await webhooks.AppendAsync(Webhooks.WebhookEvent.Create(type, ev.ChannelId, at, json =>
            {
                if (slug is not null) json.WriteString("channel", slug);
                json.WriteString("channelId", ev.ChannelId);
                json.WriteString("eventId", ev.Id);
                json.WriteString("title", ev.Title);
                Webhooks.WebhookEvent.WriteTime(json, "startsAt", ev.StartsAt);
                Webhooks.WebhookEvent.WriteTime(json, "endsAt", ev.EndsAt);
                json.WriteBoolean("record", ev.Record);
                if (reason is not null) json.WriteString("reason", reason);
            }), cancellationToken).ConfigureAwait(false);
        }
        catch (System.Data.Common.DbException e)
        {
            LogWebhookLost(e, type, ev.Id);
        }
    }

    private async Task CheckOverlapAsync(BroadcastEvent ev, CancellationToken cancellationToken)
    {
        var clash = await repository.FindOverlappingAsync(ev.ChannelId, ev.StartsAt, ev.EndsAt, ev.Id, cancellationToken).ConfigureAwait(false);
        if (clash.Count > 0) throw OverlapError(clash[0]);
    }

    private static ValidationFailedException OverlapError(BroadcastEvent? other) => ValidationFailedException.For("startsAt", other is null
        ? "The event overlaps another event of the channel."
        : $"The event overlaps '{Shorten(other.Title)}' ({other.StartsAt:yyyy-MM-ddTHH:mm:ssZ} – {other.EndsAt:yyyy-MM-ddTHH:mm:ssZ}) " +
            "on the same channel.");

    private static void ValidateFields(EventSpec spec, Dictionary<string, string[]> errors, bool requireAll)
    {
        if (spec.Title is null)
        {
            if (requireAll) errors["title"] = ["The title is required."];
        }
        else if (string.IsNullOrWhiteSpace(spec.Title)) errors["title"] = ["The title must not be empty."];
        else if (spec.Title.Trim().Length > TitleMaxLength) errors["title"] = [$"The title must be at most {TitleMaxLength} characters."];
        else if (spec.Title.Any(char.IsControl)) errors["title"] = ["The title must not contain control characters."];

        if (spec.Description is { Length: > DescriptionMaxLength })
            errors["description"] = [$"The description must be at most {DescriptionMaxLength} characters."];
    }

    private static void ValidateTimes(DateTimeOffset? startsAt, DateTimeOffset? endsAt, DateTimeOffset now, Dictionary<string, string[]> errors,
        bool checkPast = true)
    {
        if (startsAt is not { } s || endsAt is not { } e) return;
        if (e <= s) errors.TryAdd("endsAt", ["The endsAt must be after startsAt."]);
        else if (e - s > MaxDuration) errors.TryAdd("endsAt", [$"An event lasts at most {MaxDuration.TotalDays:0} days."]);
        else if (checkPast && e <= now) errors.TryAdd("endsAt", ["The endsAt is in the past."]);
    }

    private static void ThrowIf(Dictionary<string, string[]> errors)
    {
        if (errors.Count > 0) throw new ValidationFailedException(errors);
    }

    private static string Shorten(string title) => title.Length <= 60 ? title : title[..60] + "…";

    private async Task NotifyChangedAsync(BroadcastEvent ev, CancellationToken cancellationToken)
    {
        foreach (var sink in sinks) await sink.EventChangedAsync(ev, cancellationToken).ConfigureAwait(false);
        await AnnounceAsync(ev.ChannelId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The broadcast on the channel, on whichever node holds it, is checked against the changed events.</summary>
    private async Task AnnounceAsync(string channelId, CancellationToken cancellationToken)
    {
        if (await channels.GetAsync(channelId, cancellationToken).ConfigureAwait(false) is { } channel) changes.Announce(channel.Slug);
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information,
        Message = "Event {EventId} scheduled on channel {ChannelId} from {StartsAt:o} to {EndsAt:o}")]
    private partial void LogCreated(string eventId, string channelId, DateTimeOffset startsAt, DateTimeOffset endsAt);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Information, Message = "Event {EventId} cancelled")]
    private partial void LogCancelled(string eventId);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Information, Message = "Event {EventId} ended ({Reason})")]
    private partial void LogEnded(string eventId, string reason);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Information, Message = "Event {EventId}: window open, publishing accepted")]
    private partial void LogWindowOpened(string eventId);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Warning, Message = "Event {EventId} started late: no publisher at its start time")]
    private partial void LogLate(string eventId);

    [LoggerMessage(EventId = 3106, Level = LogLevel.Information, Message = "Event {EventId} is live")]
    private partial void LogLive(string eventId);

    [LoggerMessage(EventId = 3107, Level = LogLevel.Information, Message = "Event {EventId}: live broadcast on {Slug} ended")]
    private partial void LogBroadcastEnded(string eventId, string slug);

    [LoggerMessage(EventId = 3844, Level = LogLevel.Error, Message = "Webhook event {Type} of scheduled event {EventId} lost: the outbox could not be written")]
    private partial void LogWebhookLost(System.Exception exception, string type, string eventId);
}
