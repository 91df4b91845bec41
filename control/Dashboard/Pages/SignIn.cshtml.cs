using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.RateLimiting;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>The sign-in form: antiforgery-checked POST, rate-limited per client address, cookie session on success.</summary>
[EnableRateLimiting(DashboardAuth.SignInRateLimit)]
public sealed class SignInModel(IDashboardSignIn signIn) : PageModel
{
    [BindProperty]
    [Required(ErrorMessage = "Enter your user name.")]
    [StringLength(100)]
    public string? UserName { get; set; }

    [BindProperty]
    [Required(ErrorMessage = "Enter your password.")]
    [StringLength(1000)]
    public string? Password { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken cancellationToken)
    {
        if (!ModelState.IsValid)
        {
            return Page();
        }

        var name = await signIn.VerifyAsync(UserName!, Password!, cancellationToken).ConfigureAwait(false);
        if (name is null)
        {
            // One message for a wrong name and a wrong password: which one was wrong is not for a guesser to learn.
            ModelState.AddModelError(string.Empty, "Wrong user name or password.");
            return Page();
        }

        await HttpContext.SignInAsync(DashboardAuth.CookieScheme, DashboardAuth.Principal(name)).ConfigureAwait(false);
        return LocalRedirect(Url.IsLocalUrl(ReturnUrl) && ReturnUrl!.StartsWith("/dashboard", StringComparison.Ordinal) ? ReturnUrl : "/dashboard");
    }
}
