using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.SignalR;

namespace Broadcast.Control.Security;

/// <summary>
/// Every unsafe request authenticated by the session cookie must carry the antiforgery token (<c>X-CSRF-TOKEN</c>, or
/// the form field): the cookie rides along on a forged request, the token does not. One check in the pipeline, after
/// authentication, so a route added later is covered without remembering a filter. Bearer requests need no token (a
/// cross-site page cannot set <c>Authorization</c>). Not checked here:
/// <list type="bullet">
/// <item>endpoints marked <c>DisableAntiforgery()</c>: the sign-in and sign-out forms validate the token themselves, and
/// JSON sign-in takes <c>application/json</c> only, which a cross-site page cannot send without a preflight;</item>
/// <item>SignalR hubs: their negotiate POST carries no state change, the session cookie is <c>SameSite=Strict</c> (never
/// sent cross-site), and hub methods are authorized per call.</item>
/// </list>
/// </summary>
public sealed class CookieAntiforgeryMiddleware(RequestDelegate next, IAntiforgery antiforgery)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (NeedsToken(context))
        {
            try
            {
                await antiforgery.ValidateRequestAsync(context).ConfigureAwait(false);
            }
            catch (AntiforgeryValidationException)
            {
                await Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Antiforgery token missing or invalid",
                        detail: $"Send the token from GET /api/session as the {ControlAuth.AntiforgeryHeader} header, or reload the page.")
                    .ExecuteAsync(context).ConfigureAwait(false);
                return;
            }
        }

        await next(context).ConfigureAwait(false);
    }

    /// <summary>Whether this request must carry the token (public for the test that walks every route).</summary>
    public static bool NeedsToken(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var method = context.Request.Method;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method)) return false;
        if (context.User.Identity is not { IsAuthenticated: true, AuthenticationType: ControlAuth.CookieScheme }) return false;
        var endpoint = context.GetEndpoint();
        if (endpoint is null) return true;
        return !IsExempt(endpoint);
    }

    /// <summary>Endpoints that check forgery their own way (see the class summary).</summary>
    public static bool IsExempt(Endpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return endpoint.Metadata.GetMetadata<IAntiforgeryMetadata>() is { RequiresValidation: false }
            || endpoint.Metadata.GetMetadata<HubMetadata>() is not null;
    }
}
