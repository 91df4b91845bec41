using System.Globalization;
using Broadcast.Control.Channels;
using Broadcast.Control.Security.ApiKeys;
using Broadcast.Refusals;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>
/// Admins make, see and revoke scoped API keys. A new key's token is rendered in the answer to the POST that made it
/// (never kept in TempData's cookie, never shown again).
/// </summary>
public sealed class ApiKeysModel(ApiKeyService keys, ChannelService channels, TimeProvider time) : PageModel
{
    public sealed class CreateInput
    {
        public string? Name { get; set; }

        public List<string> Scopes { get; set; } = [];

        public List<string> Channels { get; set; } = [];

        public int Days { get; set; } = 90;

        /// <summary>Where the service's expiry errors land.</summary>
        public string? ExpiresAt { get; set; }
    }

    [BindProperty]
    public CreateInput Input { get; set; } = new();

    public IReadOnlyList<ApiKey> Keys { get; private set; } = [];

    public IReadOnlyList<Channel> Channels { get; private set; } = [];

    public string? NewToken { get; private set; }

    [TempData]
    public string? Flash { get; set; }

    public string ChannelName(string id) => Channels.FirstOrDefault(c => c.Id == id)?.Name ?? id;

    public static string When(DateTimeOffset at) => at.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        Keys = await keys.ListAsync(cancellationToken).ConfigureAwait(false);
        Channels = await channels.ListAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IActionResult> OnPostCreateAsync(CancellationToken cancellationToken)
    {
        try
        {
            int days = Math.Clamp(Input.Days, 1, 1095);
            var issued = await keys.CreateAsync(new ApiKeySpec(Input.Name, Input.Scopes, Input.Channels, time.GetUtcNow().AddDays(days)),
                cancellationToken).ConfigureAwait(false);
            NewToken = issued.Token;
            Input = new CreateInput();
            // The page holds a secret: no cache keeps it.
            Response.Headers.CacheControl = "no-store";
        }
        catch (Refusal e)
        {
            FormErrors.Add(ModelState, e, nameof(Input));
        }

        await OnGetAsync(cancellationToken).ConfigureAwait(false);
        return Page();
    }

    public async Task<IActionResult> OnPostRevokeAsync(string id, CancellationToken cancellationToken)
    {
        Flash = await keys.RevokeAsync(id, cancellationToken).ConfigureAwait(false)
            ? "Key revoked: its next request is refused."
            : "That key no longer exists.";
        return RedirectToPage();
    }
}
