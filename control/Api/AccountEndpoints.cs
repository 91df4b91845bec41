using System.Security.Claims;
using Broadcast.Control.Security;
using Broadcast.Control.Security.ApiKeys;
using Broadcast.Control.Users;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broadcast.Control.Api;

/// <summary>Body of <c>POST /api/users</c>: an account's name, password and role (<c>admin</c> or <c>moderator</c>; default admin).</summary>
public sealed record CreateAccountRequest(string? Name, string? Password, string? Role);

/// <summary>An account as the API shows it (never its password hash).</summary>
public sealed record AccountResponse(string Id, string Name, string Role, DateTimeOffset CreatedAt);

/// <summary>
/// <c>/api/users</c>: the accounts that sign in to the dashboard: admins, and moderator accounts that may only moderate
/// chat. Every route requires the "admin" policy; the last admin cannot be deleted.
/// </summary>
public static class AccountEndpoints
{
    public static IEndpointRouteBuilder MapAccountsApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup("/api/users").RequireAuthorization(ControlAuth.AdminPolicy).WithTags("users").AdminOnly();
        group.MapGet("", ListAsync).Produces<List<AccountResponse>>();
        group.MapPost("", CreateAsync).Accepts<CreateAccountRequest>("application/json").Produces<AccountResponse>(StatusCodes.Status201Created)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict);
        group.MapDelete("/{userId}", DeleteAsync).Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return endpoints;
    }

    private static async Task<IResult> ListAsync(AdminUserService users, CancellationToken cancellationToken)
        => Results.Json((await users.ListAsync(cancellationToken).ConfigureAwait(false)).Select(Response).ToList(),
            ControlJsonContext.Default.ListAccountResponse);

    private static async Task<IResult> CreateAsync(HttpContext context, AdminUserService users, CancellationToken cancellationToken)
    {
        var (request, error) = await RequestBodies.ReadAsync(context, ControlJsonContext.Default.CreateAccountRequest,
            cancellationToken).ConfigureAwait(false);
        if (error is not null) return error;
        var created = await users.CreateAsync(request!.Name, request.Password, request.Role ?? AccountRoles.Admin,
            cancellationToken).ConfigureAwait(false);
        return created is null
            ? RequestBodies.Conflict($"An account named '{request.Name!.Trim()}' exists already.")
            : Results.Json(Response(created), ControlJsonContext.Default.AccountResponse, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> DeleteAsync(string userId, HttpContext context, AdminUserService users, CancellationToken cancellationToken)
    {
        // Deleting yourself from a session would sign you out mid-request; another admin does it.
        if (context.User.FindFirstValue(ClaimTypes.NameIdentifier) == userId)
        {
            return RequestBodies.Conflict("An account cannot delete itself; ask another admin.");
        }

        return await users.DeleteAsync(userId, cancellationToken).ConfigureAwait(false) switch
        {
            AccountDeletion.Deleted => Results.NoContent(),
            AccountDeletion.LastAdmin => RequestBodies.Conflict("This is the last admin account; create another admin first."),
            _ => RequestBodies.NotFound("Account", userId),
        };
    }

    private static AccountResponse Response(AccountView a) => new(a.Id, a.Name, a.Role, a.CreatedAt);
}
