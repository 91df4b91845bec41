using Broadcast.Control.Security;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>POST only (antiforgery-checked), so a link on another site cannot sign an admin out.</summary>
public sealed class SignOutModel(AdminSessions sessions) : PageModel
{
    public IActionResult OnGet() => Redirect("/dashboard");

    /// <summary>Ends every session of this user, on every node, not only this browser's.</summary>
    public async Task<IActionResult> OnPostAsync(CancellationToken cancellationToken)
    {
        await sessions.SignOutEverywhereAsync(HttpContext, cancellationToken).ConfigureAwait(false);
        return Redirect(DashboardAuth.SignInPath);
    }
}
