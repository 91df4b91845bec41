using System.Globalization;
using Broadcast.Control.Channels;
using Broadcast.Control.Dashboard.Schedule;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>Week view (Monday to Sunday, UTC), the upcoming list and the create form.</summary>
public sealed class EventsModel(ChannelService channels, IDashboardSchedule schedule, TimeProvider time) : PageModel
{
    [BindProperty]
    public EventFormInput Input { get; set; } = new();

    [BindProperty(SupportsGet = true, Name = "week")]
    public string? WeekParameter { get; set; }

    [BindProperty(SupportsGet = true, Name = "channel")]
    public string? ChannelParameter { get; set; }

    public DateOnly Today { get; private set; }

    public DateOnly WeekStart { get; private set; }

    public IReadOnlyList<Channel> ChannelList { get; private set; } = [];

    public IReadOnlyList<DashboardEvent> Week { get; private set; } = [];

    public IReadOnlyList<DashboardEvent> Upcoming { get; private set; } = [];

    public string ChannelName(string id) => ChannelList.FirstOrDefault(c => c.Id == id)?.Name ?? "(deleted channel)";

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var start = now.UtcDateTime.Date.AddHours(now.UtcDateTime.Hour + 1);
        Input = new EventFormInput { ChannelId = ChannelParameter, StartsAt = start, EndsAt = start.AddHours(1) };
        await LoadAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken cancellationToken)
    {
        if (ModelState.IsValid && await PullSourceForm.ValidateAsync(HttpContext, Input, ModelState, cancellationToken).ConfigureAwait(false))
        {
            var result = await schedule.CreateEventAsync(Input.ToInput(), cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                await PullSourceForm.SaveAsync(HttpContext, result.Event!.Id, Input, cancellationToken).ConfigureAwait(false);
                var week = Monday(DateOnly.FromDateTime(result.Event!.StartsAt.UtcDateTime));
                return Redirect("/dashboard/events?week=" + week.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            }

            FormErrors.Add(ModelState, result.Errors, nameof(Input));
        }

        await LoadAsync(cancellationToken).ConfigureAwait(false);
        return Page();
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        Today = DateOnly.FromDateTime(now.UtcDateTime);
        WeekStart = Monday(DateOnly.TryParseExact(WeekParameter, "yyyy-MM-dd", CultureInfo.InvariantCulture,
            DateTimeStyles.None, out var w) ? w : Today);
        ChannelList = (await channels.ListAsync(cancellationToken).ConfigureAwait(false)).OrderBy(c => c.Name, StringComparer.OrdinalIgnoreCase)
            .ToList();
        var from = new DateTimeOffset(WeekStart.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        Week = await schedule.ListEventsAsync(from, from.AddDays(7), null, cancellationToken).ConfigureAwait(false);
        Upcoming = (await schedule.ListEventsAsync(now, now.AddDays(90), null, cancellationToken).ConfigureAwait(false)).Where(e => e.IsOpen)
            .ToList();
    }

    private static DateOnly Monday(DateOnly day) => day.AddDays(-(((int)day.DayOfWeek + 6) % 7));
}
