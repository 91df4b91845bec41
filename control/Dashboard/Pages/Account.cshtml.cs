using Broadcast.Control.Security;
using Broadcast.Control.Users;
using Broadcast.Refusals;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.RateLimiting;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>
/// The signed-in admin changes their password (the current one is checked: a borrowed session is not enough). The change
/// ends every other session of the user.
/// </summary>
[EnableRateLimiting(DashboardAuth.PasswordRateLimit)]
public sealed class AccountModel(AdminUserService users, AdminSessions sessions) : PageModel
{
    public sealed class PasswordInput
    {
        public string? CurrentPassword { get; set; }

        public string? NewPassword { get; set; }

        public string? ConfirmPassword { get; set; }
    }

    [BindProperty]
    public PasswordInput Input { get; set; } = new();

    public bool Changed { get; private set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(Input.CurrentPassword))
        {
            ModelState.AddModelError("Input.CurrentPassword", "Enter your current password.");
        }

        if (Input.NewPassword != Input.ConfirmPassword)
        {
            ModelState.AddModelError("Input.ConfirmPassword", "The two new passwords differ.");
        }

        if (ModelState.ErrorCount > 0 || User.Identity?.Name is not { } name)
        {
            return Page();
        }

        try
        {
            if (!await users.ChangePasswordAsync(name, Input.CurrentPassword, Input.NewPassword, cancellationToken).ConfigureAwait(false))
            {
                ModelState.AddModelError("Input.CurrentPassword", "The current password is wrong.");
                return Page();
            }
        }
        catch (Refusal e)
        {
            FormErrors.Add(ModelState, e, nameof(Input));
            return Page();
        }

        // The change ended every session of this user (other browsers, stolen cookies); this one continues.
        await sessions.RenewAsync(HttpContext, name, cancellationToken).ConfigureAwait(false);
        Changed = true;
        Input = new PasswordInput();
        ModelState.Clear();
        return Page();
    }
}
