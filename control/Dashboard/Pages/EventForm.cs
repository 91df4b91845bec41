using Broadcast.Control.Dashboard.Schedule;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>The event form's fields. Times are entered and shown in UTC (the API's contract), never the browser's zone.</summary>
public sealed class EventFormInput
{
    public string? ChannelId { get; set; }

    public string? Title { get; set; }

    public string? Description { get; set; }

    public DateTime? StartsAt { get; set; }

    public DateTime? EndsAt { get; set; }

    public bool Record { get; set; } = true;

    /// <summary>Create form only: a URL the event pulls from its start to its end instead of waiting for a publisher.</summary>
    public string? PullSourceUrl { get; set; }

    public bool PullSourceLoop { get; set; }

    public DashboardEventInput ToInput() => new(ChannelId, Title, Description, Utc(StartsAt), Utc(EndsAt), Record);

    public static EventFormInput From(DashboardEvent e) => new()
    {
        ChannelId = e.ChannelId,
        Title = e.Title,
        Description = e.Description,
        StartsAt = e.StartsAt.UtcDateTime,
        EndsAt = e.EndsAt.UtcDateTime,
        Record = e.Record,
    };

    private static DateTimeOffset? Utc(DateTime? t) => t is { } v ? new DateTimeOffset(DateTime.SpecifyKind(v, DateTimeKind.Utc)) : null;
}
