using Broadcast.Control.Channels;
using Broadcast.Control.Dashboard.Live;
using Broadcast.Refusals;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>The channel list with live state, and the create form (server-side validation; nothing saved when invalid).</summary>
public sealed class ChannelsModel(ChannelService channels, LiveStatusMonitor monitor, Broadcast.Control.Playback.PlaybackAccessService playback,
    IEnumerable<Broadcast.Control.Delivery.IDeliveryPathways> delivery) : PageModel
{
    private readonly Broadcast.Control.Delivery.IDeliveryPathways? _delivery = delivery.FirstOrDefault();
    public sealed class CreateInput
    {
        public string? Name { get; set; }

        public bool RequireSchedule { get; set; }

        public bool LowLatency { get; set; }

        public bool RealTime { get; set; }
    }

    public sealed record Row(Channel Channel, ChannelListItem Live);

    [BindProperty]
    public CreateInput Input { get; set; } = new();

    public IReadOnlyList<Row> Channels { get; private set; } = [];

    /// <summary>Content steering's delivery paths (empty without <c>Steering:Pathways</c>): the pathway card.</summary>
    public IReadOnlyList<Broadcast.Control.Delivery.DeliveryPathway> Pathways { get; private set; } = [];

    /// <summary>The pathway card's message after a change, or why it was refused.</summary>
    [TempData]
    public string? PathwayMessage { get; set; }

    /// <summary>
    /// The live thumbnail's URL for a public channel that is on air; null otherwise (a private channel's thumbnail needs a
    /// viewer token, which the dashboard does not hold).
    /// </summary>
    public string? ThumbnailOf(Row row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return row.Live.Online && !playback.IsPrivate(row.Channel.Slug) ? $"/live/{row.Channel.Slug}/thumbnail.jpg" : null;
    }

    public async Task OnGetAsync(CancellationToken cancellationToken) => await LoadAsync(cancellationToken).ConfigureAwait(false);

    public async Task<IActionResult> OnPostCreateAsync(CancellationToken cancellationToken)
    {
        try
        {
            var issued = await channels.CreateAsync(new ChannelSpec(Input.Name, Input.RequireSchedule, Input.LowLatency, Input.RealTime),
                cancellationToken).ConfigureAwait(false);
            return Redirect($"/dashboard/channels/{issued.Channel.Id}");
        }
        catch (Refusal e)
        {
            FormErrors.Add(ModelState, e, nameof(Input));
            await LoadAsync(cancellationToken).ConfigureAwait(false);
            return Page();
        }
    }

    /// <summary>The pathway card's buttons: drain or return a pathway, or set its weight (0-1000).</summary>
    public IActionResult OnPostPathway(string id, string change, int? weight)
    {
        if (_delivery is null) return NotFound();
        string? refused = null;
        bool known = true;
        switch (change)
        {
            case "drain": known = _delivery.Change(id, null, true); break;
            case "return": known = _delivery.Change(id, null, false); break;
            case "weight" when weight is >= 0 and <= 1000: known = _delivery.Change(id, weight, null); break;
            default: refused = "A weight is a whole number from 0 to 1000."; break;
        }

        PathwayMessage = known ? refused : $"There is no pathway '{id}'.";
        return Redirect("/dashboard");
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        Pathways = _delivery?.List() ?? [];
        var list = await channels.ListAsync(cancellationToken).ConfigureAwait(false);
        Channels = list.OrderBy(c => c.Name, StringComparer.OrdinalIgnoreCase).Select(c => new Row(c, monitor.ListItem(c))).ToList();
    }
}
