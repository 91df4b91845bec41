using System.ComponentModel.DataAnnotations;
using Broadcast.Control.Api;
using Broadcast.Control.Security;
using Broadcast.Control.Users;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.RateLimiting;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>
/// The sign-in form (<c>/sign-in</c>, where the session cookie sends browsers): antiforgery-checked POST, rate-limited
/// per client address, PBKDF2 check by <see cref="AdminUserService"/>, session cookie on success.
/// </summary>
[EnableRateLimiting(DashboardAuth.SignInRateLimit)]
public sealed class SignInModel(AdminUserService users) : PageModel
{
    [BindProperty]
    [Required(ErrorMessage = "Enter your user name.")]
    [StringLength(AdminUserService.NameMaxLength, ErrorMessage = "The user name is at most 100 characters.")]
    public string? UserName { get; set; }

    [BindProperty]
    [Required(ErrorMessage = "Enter your password.")]
    [StringLength(1024, ErrorMessage = "The password is at most 1024 characters.")]
    public string? Password { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    /// <summary>Set by the API's form endpoint (<c>POST /account/sign-in</c>) when it sends a failed attempt back here.</summary>
    [BindProperty(SupportsGet = true, Name = "error")]
    public string? Error { get; set; }

    private const string LockedMessage = "Too many wrong passwords for this name: sign-in with it is refused for a while (at most 15 minutes).";
    private const string WrongMessage = "Wrong user name or password.";

    public void OnGet()
    {
        if (Error == "invalid")
        {
            ModelState.AddModelError(string.Empty, WrongMessage);
        }
        else if (Error == "locked")
        {
            ModelState.AddModelError(string.Empty, LockedMessage);
        }
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken cancellationToken)
    {
        if (!ModelState.IsValid)
        {
            return Page();
        }

        var user = await users.VerifyAsync(UserName, Password, cancellationToken).ConfigureAwait(false);
        if (user is null)
        {
            // One message for a wrong name and a wrong password: which one was wrong is not for a guesser to learn.
            ModelState.AddModelError(string.Empty, users.IsLockedOut(UserName, out _) ? LockedMessage : WrongMessage);
            return Page();
        }

        await SessionEndpoints.SignInAsync(HttpContext, user).ConfigureAwait(false);
        var home = user.Role == AccountRoles.Moderator ? ControlAuth.ModerationPath : "/dashboard";
        return LocalRedirect(Url.IsLocalUrl(ReturnUrl) && ReturnUrl!.StartsWith("/dashboard", StringComparison.Ordinal) ? ReturnUrl : home);
    }
}
