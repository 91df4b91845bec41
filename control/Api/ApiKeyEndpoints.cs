using Broadcast.Control.Security;
using Broadcast.Control.Security.ApiKeys;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broadcast.Control.Api;

/// <summary>
/// Body of <c>POST /api/keys</c>: a name, the scopes, the channel ids the key is limited to (absent or empty: every
/// channel) and when it expires (a UTC date-time).
/// </summary>
public sealed record CreateApiKeyRequest(string? Name, List<string>? Scopes, List<string>? Channels, string? ExpiresAt);

/// <summary>An API key as the API shows it: never its secret, but for <see cref="Token"/> in the answer that made it.</summary>
public sealed record ApiKeyResponse(
    string Id,
    string Name,
    List<string> Scopes,
    List<string> Channels,
    DateTimeOffset ExpiresAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastUsedAt,
    string? Token = null);

/// <summary>
/// <c>/api/keys</c>: scoped API keys for a platform's backend. The operator's alone (the admin token or an admin's
/// session): no API key manages keys.
/// </summary>
public static class ApiKeyEndpoints
{
    public static IEndpointRouteBuilder MapApiKeysApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup("/api/keys").RequireAuthorization(ControlAuth.AdminPolicy).WithTags("keys").AdminOnly();
        group.MapPost("", CreateAsync).Accepts<CreateApiKeyRequest>("application/json").Produces<ApiKeyResponse>(StatusCodes.Status201Created)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Makes an API key; the answer's token is shown this once.");
        group.MapGet("", ListAsync).Produces<List<ApiKeyResponse>>().WithSummary("Lists the API keys (never their secrets).");
        group.MapDelete("/{keyId}", RevokeAsync).Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Revokes an API key: its next request is refused.");
        return endpoints;
    }

    private static async Task<IResult> CreateAsync(HttpContext context, ApiKeyService keys, CancellationToken cancellationToken)
    {
        var (request, error) = await RequestBodies.ReadAsync(context, ControlJsonContext.Default.CreateApiKeyRequest, cancellationToken)
            .ConfigureAwait(false);
        if (error is not null) return error;
        DateTimeOffset? expiresAt = null;
        if (request!.ExpiresAt is not null)
        {
            if (!RequestBodies.TryParseUtc(request.ExpiresAt, out var at, out string? why)) return RequestBodies.Invalid("expiresAt", $"'expiresAt' {why}");
            expiresAt = at;
        }
        var issued = await keys.CreateAsync(new ApiKeySpec(request.Name, request.Scopes, request.Channels, expiresAt), cancellationToken)
            .ConfigureAwait(false);
        context.Response.Headers.Location = $"/api/keys/{issued.Key.Id}";
        context.Response.Headers.CacheControl = "no-store";
        return Results.Json(Response(issued.Key) with { Token = issued.Token }, ControlJsonContext.Default.ApiKeyResponse,
            statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListAsync(ApiKeyService keys, CancellationToken cancellationToken)
        => Results.Json((await keys.ListAsync(cancellationToken).ConfigureAwait(false)).Select(Response).ToList(),
            ControlJsonContext.Default.ListApiKeyResponse);

    private static async Task<IResult> RevokeAsync(string keyId, ApiKeyService keys, CancellationToken cancellationToken)
        => await keys.RevokeAsync(keyId, cancellationToken).ConfigureAwait(false) ? Results.NoContent() : RequestBodies.NotFound("API key", keyId);

    private static ApiKeyResponse Response(ApiKey key)
        => new(key.Id, key.Name, [.. key.Scopes], [.. key.Channels], key.ExpiresAt, key.CreatedAt, key.LastUsedAt);
}
