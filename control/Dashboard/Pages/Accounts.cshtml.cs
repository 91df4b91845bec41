using System.Security.Claims;
using Broadcast.Control.Users;
using Broadcast.Refusals;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>Admins manage who signs in: admins and moderator accounts (chat moderation only). The last admin stays.</summary>
public sealed class AccountsModel(AdminUserService users) : PageModel
{
    public sealed class CreateInput
    {
        public string? Name { get; set; }

        public string? Password { get; set; }

        public string Role { get; set; } = AccountRoles.Moderator;
    }

    [BindProperty]
    public CreateInput Input { get; set; } = new();

    public IReadOnlyList<AccountView> Accounts { get; private set; } = [];

    [TempData]
    public string? Flash { get; set; }

    public string? CurrentUserId => User.FindFirstValue(ClaimTypes.NameIdentifier);

    public async Task OnGetAsync(CancellationToken cancellationToken) => Accounts = await users.ListAsync(cancellationToken).ConfigureAwait(false);

    public async Task<IActionResult> OnPostCreateAsync(CancellationToken cancellationToken)
    {
        try
        {
            var created = await users.CreateAsync(Input.Name, Input.Password, Input.Role, cancellationToken).ConfigureAwait(false);
            if (created is not null)
            {
                Flash = $"{(created.Role == AccountRoles.Moderator ? "Moderator" : "Admin")} '{created.Name}' created.";
                return RedirectToPage();
            }

            ModelState.AddModelError("Input.Name", "An account with this name exists already.");
        }
        catch (Refusal e)
        {
            FormErrors.Add(ModelState, e, nameof(Input));
        }

        await OnGetAsync(cancellationToken).ConfigureAwait(false);
        return Page();
    }

    public async Task<IActionResult> OnPostDeleteAsync(string id, CancellationToken cancellationToken)
    {
        Flash = id == CurrentUserId ? "You cannot delete your own account; ask another admin."
            : await users.DeleteAsync(id, cancellationToken).ConfigureAwait(false) switch
            {
                AccountDeletion.Deleted => "Account deleted; its sessions have ended.",
                AccountDeletion.LastAdmin => "This is the last admin account; create another admin first.",
                _ => "That account no longer exists.",
            };
        return RedirectToPage();
    }
}
