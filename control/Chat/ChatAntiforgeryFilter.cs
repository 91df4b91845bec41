using Broadcast.Control.Security;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;

namespace Broadcast.Control.Chat;

/// <summary>
/// The chat API's antiforgery check: a cookie-authenticated PUT or DELETE must carry <c>X-CSRF-TOKEN</c>; bearer calls
/// need none. Kept with the chat routes so they are covered whether or not the pipeline checks every route itself
/// (validating twice is harmless).
/// </summary>
internal sealed class ChatAntiforgeryFilter(IAntiforgery antiforgery) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var http = context.HttpContext;
        var method = http.Request.Method;
        if (http.User.Identity is { IsAuthenticated: true, AuthenticationType: ControlAuth.CookieScheme }
            && !HttpMethods.IsGet(method) && !HttpMethods.IsHead(method) && !HttpMethods.IsOptions(method))
        {
            try
            {
                await antiforgery.ValidateRequestAsync(http).ConfigureAwait(false);
            }
            catch (AntiforgeryValidationException)
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Antiforgery token missing or invalid",
                    detail: $"Send the token from GET /api/session as the {ControlAuth.AntiforgeryHeader} header.");
            }
        }

        return await next(context).ConfigureAwait(false);
    }
}
