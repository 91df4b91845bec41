namespace Broadcast.Control.Events;

/// <summary>
/// Where an event is in its life. scheduled → ready (window open: publishing accepted from
/// start − lead) → live (a publisher connected) → ended; cancelled from scheduled or ready.
/// Stored as the lower-case name.
/// </summary>
public enum EventState
{
    Scheduled,
    Ready,
    Live,
    Ended,
    Cancelled,
}

public static class EventStates
{
    public static string ToWire(this EventState state) => state switch
    {
        EventState.Scheduled => "scheduled",
        EventState.Ready => "ready",
        EventState.Live => "live",
        EventState.Ended => "ended",
        EventState.Cancelled => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };

    public static bool TryParse(string? value, out EventState state)
    {
        switch (value)
        {
            case "scheduled": state = EventState.Scheduled; return true;
            case "ready": state = EventState.Ready; return true;
            case "live": state = EventState.Live; return true;
            case "ended": state = EventState.Ended; return true;
            case "cancelled": state = EventState.Cancelled; return true;
            default: state = default; return false;
        }
    }

    public static EventState Parse(string value)
        => TryParse(value, out var state) ? state : throw new FormatException($"Unknown event state '{value}'.");

    /// <summary>States an event can still be published in or moved out of by the schedule.</summary>
    public static bool IsOpen(this EventState state) => state is EventState.Scheduled or EventState.Ready or EventState.Live;
}

/// <summary>
/// A scheduled broadcast of one channel. Times are UTC with millisecond precision.
/// </summary>
/// <param name="Late">The window opened and the start passed without a publisher (set by the late-start job).</param>
/// <param name="LiveAt">When a publisher first went live in this event.</param>
/// <param name="EndedAt">When the event was ended (by the schedule or an admin).</param>
public sealed record BroadcastEvent(
    string Id,
    string ChannelId,
    string Title,
    string Description,
    DateTimeOffset StartsAt,
    DateTimeOffset EndsAt,
    bool Record,
    EventState State,
    bool Late,
    DateTimeOffset? LiveAt,
    DateTimeOffset? EndedAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    /// <summary>When publishing is first accepted: <see cref="StartsAt"/> minus the lead.</summary>
    public DateTimeOffset OpensAt(TimeSpan lead) => StartsAt - lead;

    /// <summary>Whether a publish at <paramref name="now"/> falls in this event's window.</summary>
    public bool InWindow(DateTimeOffset now, TimeSpan lead) => State.IsOpen() && OpensAt(lead) <= now && now < EndsAt;
}

/// <summary>What an admin sends to create or replace an event. Null fields are "missing" (create) or "unchanged" (patch).</summary>
public sealed record EventSpec(
    string? ChannelId,
    string? Title,
    string? Description,
    DateTimeOffset? StartsAt,
    DateTimeOffset? EndsAt,
    bool? Record);

/// <summary>The answer to "may this channel publish now?".</summary>
/// <param name="Event">The event whose window is open, when there is one.</param>
/// <param name="Reason">Why not, in words fit for the publisher (sent in NetStream.Publish.BadName's description).</param>
public sealed record PublishPermission(bool Allowed, BroadcastEvent? Event, string? Reason)
{
    public static PublishPermission Allow(BroadcastEvent? ev) => new(true, ev, null);

    public static PublishPermission Deny(string reason) => new(false, null, reason);
}
