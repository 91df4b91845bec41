using Broadcast.Control.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>POST only (antiforgery-checked), so a link on another site cannot sign an admin out.</summary>
public sealed class SignOutModel : PageModel
{
    public IActionResult OnGet() => Redirect("/dashboard");

    public async Task<IActionResult> OnPostAsync()
    {
        await HttpContext.SignOutAsync(ControlAuth.CookieScheme).ConfigureAwait(false);
        return Redirect(DashboardAuth.SignInPath);
    }
}
