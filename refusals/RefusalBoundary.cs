using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Broadcast.Refusals;

/// <summary>
/// The one error boundary of the HTTP routes (control's API, WebRTC's signalling, the origin's routes): a
/// <see cref="Refusal"/> thrown anywhere below an endpoint becomes problem+json of its kind (400 with <c>errors</c> per
/// field, 401, 403, 404, 409, 429, 502, 503). Each project puts it on its route groups once
/// (<see cref="WithRefusalBoundary{TBuilder}"/>); endpoints throw and never catch a refusal to map it themselves.
/// </summary>
public sealed class RefusalBoundary : IEndpointFilter
{
    public static RefusalBoundary Instance { get; } = new();

    private RefusalBoundary()
    {
    }

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (Refusal refusal) when (!context.HttpContext.Response.HasStarted)
        {
            // A refusal is about this request and this moment: no cache (an edge, a browser) keeps it.
            context.HttpContext.Response.Headers.CacheControl = "no-store";
            return ProblemOf(refusal);
        }
    }

    /// <summary>The problem+json a refusal is answered with.</summary>
    public static IResult ProblemOf(Refusal refusal)
    {
        ArgumentNullException.ThrowIfNull(refusal);
        if (refusal.Errors is { } errors)
            return Results.ValidationProblem(errors.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal), title: refusal.Title);

        // A refusal about one field of a valid request (a clip's range nothing stored covers) names it beside the detail.
        var extensions = refusal.Field is { } field ? new Dictionary<string, object?> { ["field"] = field } : null;
        return Results.Problem(statusCode: refusal.Status, title: refusal.Title ?? ReasonPhrases.GetReasonPhrase(refusal.Status),
            detail: refusal.Message, extensions: extensions);
    }
}

/// <summary>What an endpoint under the boundary carries in its metadata, so a test can walk every route and see it.</summary>
public sealed class RefusalBoundaryMetadata
{
    public static RefusalBoundaryMetadata Instance { get; } = new();

    private RefusalBoundaryMetadata()
    {
    }
}

public static class RefusalBoundaryExtensions
{
    /// <summary>Puts the <see cref="RefusalBoundary"/> on every endpoint of <paramref name="builder"/> (a route group: all of its routes).</summary>
    public static TBuilder WithRefusalBoundary<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddEndpointFilter(RefusalBoundary.Instance);
        builder.WithMetadata(RefusalBoundaryMetadata.Instance);
        return builder;
    }
}
