using System.Globalization;
using Broadcast.Control.Webhooks;
using Broadcast.Refusals;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>
/// Admins register webhook endpoints, see each endpoint's deliveries with their attempts, redeliver one, send a test event,
/// rotate a secret, and enable again an endpoint that was disabled after failing for long (a banner says which). A new or
/// rotated secret is rendered in the answer to the POST that made it, never kept and never shown again.
/// </summary>
public sealed class WebhooksModel(WebhookEndpointService endpoints, SqlWebhookDeliveries deliveries, WebhookOutbox outbox, TimeProvider time) : PageModel
{
    /// <summary>Deliveries the page shows for the endpoint opened.</summary>
    public const int ShownDeliveries = 50;

    public sealed class CreateInput
    {
        public string? Url { get; set; }

        public string? Description { get; set; }

        /// <summary>None ticked: every type.</summary>
        public List<string> EventTypes { get; set; } = [];
    }

    [BindProperty]
    public CreateInput Input { get; set; } = new();

    public IReadOnlyList<WebhookEndpoint> Endpoints { get; private set; } = [];

    /// <summary>The endpoint whose deliveries are shown (<c>?endpoint=</c>), if any.</summary>
    public WebhookEndpoint? Opened { get; private set; }

    public IReadOnlyList<(DeliveryView Delivery, IReadOnlyList<DeliveryAttempt> Attempts)> Deliveries { get; private set; } = [];

    public string? NewSecret { get; private set; }

    public string? NewSecretFor { get; private set; }

    [TempData]
    public string? Flash { get; set; }

    public static string When(DateTimeOffset at) => at.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    public async Task OnGetAsync(string? endpoint, CancellationToken cancellationToken)
    {
        Endpoints = await endpoints.ListAsync(cancellationToken).ConfigureAwait(false);
        Opened = endpoint is null ? null : Endpoints.FirstOrDefault(e => e.Id == endpoint);
        if (Opened is null) return;
        var list = await deliveries.ListAsync(Opened.Id, ShownDeliveries, cancellationToken).ConfigureAwait(false);
        var shown = new List<(DeliveryView, IReadOnlyList<DeliveryAttempt>)>(list.Count);
        foreach (var delivery in list)
            shown.Add((delivery, await deliveries.AttemptsAsync(delivery.Id, cancellationToken).ConfigureAwait(false)));
        Deliveries = shown;
    }

    public async Task<IActionResult> OnPostCreateAsync(CancellationToken cancellationToken)
    {
        try
        {
            var issued = await endpoints.CreateAsync(new WebhookEndpointSpec(Input.Url, Input.Description, Input.EventTypes, true), cancellationToken)
                .ConfigureAwait(false);
            ShowSecret(issued);
            Input = new CreateInput();
        }
        catch (Refusal e)
        {
            FormErrors.Add(ModelState, e, nameof(Input));
        }

        await OnGetAsync(NewSecretFor, cancellationToken).ConfigureAwait(false);
        return Page();
    }

    public async Task<IActionResult> OnPostRotateAsync(string id, CancellationToken cancellationToken)
    {
        if (await endpoints.RotateSecretAsync(id, cancellationToken).ConfigureAwait(false) is { } issued) ShowSecret(issued);
        else Flash = "That endpoint no longer exists.";
        await OnGetAsync(id, cancellationToken).ConfigureAwait(false);
        return Page();
    }

    public async Task<IActionResult> OnPostEnableAsync(string id, bool enabled, CancellationToken cancellationToken)
    {
        var changed = await endpoints.UpdateAsync(id, new WebhookEndpointSpec(null, null, null, enabled), cancellationToken).ConfigureAwait(false);
        Flash = changed is null ? "That endpoint no longer exists."
            : enabled ? "Endpoint enabled: its pending deliveries go out again." : "Endpoint disabled: nothing is sent to it, and no new event is queued for it.";
        return RedirectToPage(new { endpoint = id });
    }

    public async Task<IActionResult> OnPostDeleteAsync(string id, CancellationToken cancellationToken)
    {
        Flash = await endpoints.DeleteAsync(id, cancellationToken).ConfigureAwait(false)
            ? "Endpoint deleted with its deliveries."
            : "That endpoint no longer exists.";
        return RedirectToPage();
    }

    public async Task<IActionResult> OnPostTestAsync(string id, CancellationToken cancellationToken)
    {
        Flash = await outbox.AppendTestAsync(id, cancellationToken).ConfigureAwait(false) is { } eventId
            ? $"Test event {eventId} queued."
            : "That endpoint no longer exists.";
        return RedirectToPage(new { endpoint = id });
    }

    public async Task<IActionResult> OnPostRedeliverAsync(string id, string delivery, CancellationToken cancellationToken)
    {
        if (await deliveries.FindAsync(delivery, cancellationToken).ConfigureAwait(false) is not { } found || found.EndpointId != id)
            Flash = "That delivery no longer exists.";
        else if (await deliveries.RedeliverAsync(delivery, time.GetUtcNow(), cancellationToken).ConfigureAwait(false))
        {
            outbox.Notify();
            Flash = "Delivery queued again (same webhook-id).";
        }
        else Flash = "That delivery is pending already.";
        return RedirectToPage(new { endpoint = id });
    }

    private void ShowSecret(IssuedWebhookEndpoint issued)
    {
        NewSecret = issued.Secret;
        NewSecretFor = issued.Endpoint.Id;
        // The page holds a secret: no cache keeps it.
        Response.Headers.CacheControl = "no-store";
    }
}
