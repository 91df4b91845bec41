using System.Globalization;
using Broadcast.Control.Channels;
using Broadcast.Control.Dashboard.Schedule;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>Edit and cancel one event; invalid input is shown next to its field and nothing is saved.</summary>
public sealed class EventEditModel(ChannelService channels, IDashboardSchedule schedule) : PageModel
{
    [BindProperty]
    public EventFormInput Input { get; set; } = new();

    public DashboardEvent Event { get; private set; } = null!;

    public IReadOnlyList<Channel> ChannelList { get; private set; } = [];

    public bool Editable => Event.State is "scheduled" or "ready";

    public async Task<IActionResult> OnGetAsync(string id, CancellationToken cancellationToken)
    {
        if (!await LoadAsync(id, cancellationToken).ConfigureAwait(false))
        {
            return NotFound();
        }

        Input = EventFormInput.From(Event);
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(string id, CancellationToken cancellationToken)
    {
        if (!await LoadAsync(id, cancellationToken).ConfigureAwait(false))
        {
            return NotFound();
        }

        if (ModelState.IsValid)
        {
            var result = await schedule.UpdateEventAsync(id, Input.ToInput(), cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                return Redirect(WeekOf(result.Event!));
            }

            FormErrors.Add(ModelState, result.Errors, nameof(Input));
        }

        return Page();
    }

    public async Task<IActionResult> OnPostCancelAsync(string id, CancellationToken cancellationToken)
    {
        var result = await schedule.CancelEventAsync(id, cancellationToken).ConfigureAwait(false);
        if (result is null)
        {
            return NotFound();
        }

        if (!result.Succeeded)
        {
            await LoadAsync(id, cancellationToken).ConfigureAwait(false);
            Input = EventFormInput.From(Event);
            FormErrors.Add(ModelState, result.Errors, nameof(Input));
            return Page();
        }

        return Redirect(WeekOf(result.Event!));
    }

    private async Task<bool> LoadAsync(string id, CancellationToken cancellationToken)
    {
        var e = await schedule.GetEventAsync(id, cancellationToken).ConfigureAwait(false);
        if (e is null)
        {
            return false;
        }

        Event = e;
        ChannelList = (await channels.ListAsync(cancellationToken).ConfigureAwait(false)).OrderBy(c => c.Name, StringComparer.OrdinalIgnoreCase)
            .ToList();
        return true;
    }

    private static string WeekOf(DashboardEvent e)
    {
        var day = DateOnly.FromDateTime(e.StartsAt.UtcDateTime);
        var monday = day.AddDays(-(((int)day.DayOfWeek + 6) % 7));
        return "/dashboard/events?week=" + monday.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
    }
}
