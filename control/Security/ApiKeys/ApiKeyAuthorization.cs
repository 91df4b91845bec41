using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broadcast.Control.Security.ApiKeys;

/// <summary>
/// The "admin" policy's requirement: an admin (the admin token, an admin's session) may do anything; an API key may use
/// a route when the route declares the scope the key holds for the request's method and, for a key limited to channels,
/// names one of its channels.
/// </summary>
public sealed class AdminAccessRequirement : IAuthorizationRequirement
{
    public static AdminAccessRequirement Instance { get; } = new();

    private AdminAccessRequirement()
    {
    }
}

/// <summary>Why an API key may not use a route; <see cref="Scope"/> is the scope it lacks, when that is the reason.</summary>
public sealed class ApiKeyDenial(IAuthorizationHandler handler, string message, string? scope) : AuthorizationFailureReason(handler, message)
{
    public string? Scope { get; } = scope;
}

public sealed class AdminAccessHandler : AuthorizationHandler<AdminAccessRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, AdminAccessRequirement requirement)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.User.IsInRole(ControlAuth.AdminRole))
        {
            context.Succeed(requirement);
        }
        else if (ApiKeyClaims.IsApiKey(context.User))
        {
            var http = context.Resource as HttpContext;
            var (message, scope) = ApiKeyAccess.Check(context.User, http?.GetEndpoint()?.Metadata, http?.Request.Method ?? "GET",
                http?.Request.RouteValues);
            if (message is null) context.Succeed(requirement);
            else context.Fail(new ApiKeyDenial(this, message, scope));
        }
        return Task.CompletedTask;
    }
}

/// <summary>The rule an API key is held to on one request (see <see cref="AdminAccessRequirement"/>).</summary>
public static class ApiKeyAccess
{
    /// <summary>Null when the key may make the request; otherwise why not, and the scope it lacks when that is why.</summary>
    public static (string? Message, string? MissingScope) Check(ClaimsPrincipal key, EndpointMetadataCollection? metadata, string method,
        RouteValueDictionary? routeValues)
    {
        ArgumentNullException.ThrowIfNull(key);
        var declared = metadata?.GetMetadata<ApiScopeMetadata>();
        if (declared is null || metadata!.GetMetadata<AdminOnlyMetadata>() is not null)
            return ("This route is the operator's alone (the admin token or an admin's dashboard session); no API key may use it.", null);
        string scope = declared.ScopeFor(method);
        if (!key.HasClaim(ApiKeyClaims.Scope, scope)) return ($"This API key lacks the scope '{scope}'.", scope);
        var channels = key.FindAll(ApiKeyClaims.Channel).Select(c => c.Value).ToList();
        if (channels.Count == 0) return (null, null);
        if (declared.ChannelRouteValue is not { } name || routeValues?[name] is not string channel)
        {
            // A read across channels answers with the key's channels only (the handler filters); a write there is refused.
            bool read = HttpMethods.IsGet(method) || HttpMethods.IsHead(method);
            return read && metadata.GetMetadata<ChannelFilteredMetadata>() is not null
                ? (null, null)
                : ("This API key is limited to channels, and this route is not one channel's.", null);
        }

        return channels.Contains(channel, StringComparer.Ordinal)
            ? (null, null)
            : ($"This API key is limited to other channels than '{channel}'.", null);
    }
}

/// <summary>
/// Answers an API key that may not use a route with 403 problem+json saying why (<c>requiredScope</c> names the missing
/// scope); everything else is answered as ASP.NET Core does by default.
/// </summary>
public sealed class ApiKeyForbiddenResultHandler : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(authorizeResult);
        if (!authorizeResult.Forbidden || !ApiKeyClaims.IsApiKey(context.User))
            return _default.HandleAsync(next, context, policy, authorizeResult);
        var denial = authorizeResult.AuthorizationFailure?.FailureReasons.OfType<ApiKeyDenial>().FirstOrDefault();
        var extensions = new Dictionary<string, object?>();
        if (denial?.Scope is { } scope) extensions["requiredScope"] = scope;
        return Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden",
            detail: denial?.Message ?? "This route is the operator's alone (the admin token or an admin's dashboard session); no API key may use it.",
            extensions: extensions).ExecuteAsync(context);
    }
}
