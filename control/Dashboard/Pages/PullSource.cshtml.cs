using Broadcast.Control.Channels;
using Broadcast.Control.Events;
using Broadcast.Control.Sources;
using Broadcast.Refusals;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>What the pull-source card of the channel and event pages shows: whose source, and where its editor is.</summary>
public sealed record PullSourceCardModel(string Owner, string Id);

/// <summary>
/// The pull source of a channel (<c>owner</c> = channel) or an event (<c>owner</c> = event): the URL and loop flag with the
/// state of its pull, a form to set it and a button to go back to a publisher. Invalid URLs are shown next to the field.
/// </summary>
public sealed class PullSourceModel(PullSourceService sources, ChannelService channels, EventService events) : PageModel
{
    [BindProperty]
    public string? SourceUrl { get; set; }

    [BindProperty]
    public bool Loop { get; set; }

    /// <summary>rtmps:// and https:// sources: accept a certificate that does not validate (test servers only).</summary>
    [BindProperty]
    public bool AllowUntrustedCertificate { get; set; }

    public string Owner { get; private set; } = "channel";

    public string Id { get; private set; } = "";

    public string Title { get; private set; } = "";

    public string BackUrl { get; private set; } = "";

    public PullSource? Source { get; private set; }

    public PullSourceStatus? Status { get; private set; }

    [TempData]
    public string? Flash { get; set; }

    private Channel? _channel;
    private BroadcastEvent? _event;

    public async Task<IActionResult> OnGetAsync(string owner, string id, CancellationToken cancellationToken)
    {
        if (!await LoadAsync(owner, id, cancellationToken).ConfigureAwait(false)) return NotFound();
        SourceUrl = Source?.Url;
        Loop = Source?.Loop ?? false;
        AllowUntrustedCertificate = Source?.AllowUntrustedCertificate ?? false;
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(string owner, string id, CancellationToken cancellationToken)
    {
        if (!await LoadAsync(owner, id, cancellationToken).ConfigureAwait(false)) return NotFound();
        try
        {
            if (_event is not null)
            {
                await sources.ValidateAsync(SourceUrl, "url", cancellationToken).ConfigureAwait(false);
                await sources.SetForEventAsync(_event, SourceUrl, Loop, AllowUntrustedCertificate, cancellationToken).ConfigureAwait(false);
            }
            else await sources.SetForChannelAsync(Id, SourceUrl, Loop, AllowUntrustedCertificate, cancellationToken).ConfigureAwait(false);
        }
        catch (Refusal e)
        {
            // The form has one field: every message goes beside it.
            foreach (var m in FormErrors.Of(e).Values.SelectMany(m => m)) ModelState.AddModelError(nameof(SourceUrl), m);
            return Page();
        }
        Flash = _event is null ? "Pull source saved: the channel pulls it now." : "Pull source saved: the event pulls it from its start to its end.";
        return Redirect($"/dashboard/sources/{Owner}/{Id}");
    }

    public async Task<IActionResult> OnPostRemoveAsync(string owner, string id, CancellationToken cancellationToken)
    {
        if (!await LoadAsync(owner, id, cancellationToken).ConfigureAwait(false)) return NotFound();
        if (_event is not null) await sources.SetForEventAsync(_event, null, false, false, cancellationToken).ConfigureAwait(false);
        else await sources.DeleteForChannelAsync(Id, cancellationToken).ConfigureAwait(false);
        Flash = "Pull source removed: the channel takes a publisher again.";
        return Redirect($"/dashboard/sources/{Owner}/{Id}");
    }

    private async Task<bool> LoadAsync(string owner, string id, CancellationToken cancellationToken)
    {
        Owner = owner;
        Id = id;
        switch (owner)
        {
            case "channel":
                _channel = await channels.GetAsync(id, cancellationToken).ConfigureAwait(false);
                if (_channel is null) return false;
                Title = _channel.Name;
                BackUrl = $"/dashboard/channels/{id}";
                Source = await sources.GetForChannelAsync(id, cancellationToken).ConfigureAwait(false);
                break;
            case "event":
                _event = await events.GetAsync(id, cancellationToken).ConfigureAwait(false);
                if (_event is null) return false;
                _channel = await channels.GetAsync(_event.ChannelId, cancellationToken).ConfigureAwait(false);
                if (_channel is null) return false;
                Title = _event.Title;
                BackUrl = $"/dashboard/events/{id}/edit";
                Source = await sources.GetForEventAsync(id, cancellationToken).ConfigureAwait(false);
                break;
            default:
                return false;
        }
        Status = Source is null ? null : sources.StatusOf(_channel, _event?.Id, Source);
        return true;
    }
}

/// <summary>The optional pull-source field of the event create form: checked before the event is created, stored after.</summary>
internal static class PullSourceForm
{
    public static async Task<bool> ValidateAsync(HttpContext context, EventFormInput input,
        Microsoft.AspNetCore.Mvc.ModelBinding.ModelStateDictionary modelState,
        CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(input.PullSourceUrl)) return true;
        try
        {
            await context.RequestServices.GetRequiredService<PullSourceService>()
                .ValidateAsync(input.PullSourceUrl, "url", cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Refusal e)
        {
            foreach (var message in FormErrors.Of(e).Values.SelectMany(m => m)) modelState.AddModelError("Input." + nameof(EventFormInput.PullSourceUrl),
                message);
            return false;
        }
    }

    public static async Task SaveAsync(HttpContext context, string eventId, EventFormInput input, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(input.PullSourceUrl)) return;
        var ev = await context.RequestServices.GetRequiredService<EventService>().GetAsync(eventId, cancellationToken).ConfigureAwait(false);
        if (ev is not null)
            await context.RequestServices.GetRequiredService<PullSourceService>()
                .SetForEventAsync(ev, input.PullSourceUrl, input.PullSourceLoop, false, cancellationToken)
                .ConfigureAwait(false);
    }
}
