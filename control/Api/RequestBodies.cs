using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Broadcast.Control.Api;

/// <summary>Reads small JSON bodies with a size cap, turning every failure into a problem+json naming the field.</summary>
internal static class RequestBodies
{
    // Admin requests are a few fields; anything much bigger is not one.
    public const long MaxBodyBytes = 16 * 1024;

    public static Task<(T? Value, IResult? Error)> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> type, CancellationToken cancellationToken)
        where T : class => ReadAsync(context, type, MaxBodyBytes, cancellationToken);

    /// <summary>As <see cref="ReadAsync{T}(HttpContext, JsonTypeInfo{T}, CancellationToken)"/>, for a route whose bodies may carry more
    /// (a program's images).</summary>
    public static async Task<(T? Value, IResult? Error)> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> type, long maxBytes,
        CancellationToken cancellationToken)
        where T : class
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = maxBytes;
        }

        if (context.Request.ContentLength > maxBytes)
        {
            return (null, TooLarge(maxBytes));
        }

        // JSON only: a cross-site page can send a text/plain or form body without asking (a "simple" request), but not
        // application/json, so this closes login CSRF on POST /api/session and any body-borne forgery elsewhere.
        if (!context.Request.HasJsonContentType())
        {
            return (null, Results.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "JSON expected",
                detail: "Send the request body as application/json."));
        }

        T? value;
        try
        {
            value = await JsonSerializer.DeserializeAsync(context.Request.Body, type, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            var field = FieldOf(e.Path);
            return (null, field is null
                ? Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Malformed JSON", detail: "The request body is not valid JSON.")
                : Invalid(field, $"The value of '{field}' has the wrong type or is malformed."));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge(maxBytes));
        }

        return value is null
            ? (null, Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Malformed JSON",
                detail: "The request body must be a JSON object."))
            : (value, null);
    }

    public static IResult Invalid(string field, string message)
        => Results.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] }, title: "Invalid request");

    public static IResult Invalid(IReadOnlyDictionary<string, string[]> errors)
        => Results.ValidationProblem(errors.ToDictionary(kv => kv.Key, kv => kv.Value), title: "Invalid request");

    public static IResult NotFound(string what, string id)
        => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: $"{what} not found",
            detail: $"No {what.ToLowerInvariant()} has id '{id}'.");

    public static IResult Conflict(string detail) => Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: detail);

    /// <summary>
    /// An ISO 8601 instant in UTC: <c>2026-05-01T13:45:00Z</c>, fractions allowed, <c>+00:00</c> accepted as Z.
    /// Other offsets and local times (no offset) are rejected rather than converted.
    /// </summary>
    public static bool TryParseUtc(string? value, out DateTimeOffset instant, out string? error)
    {
        instant = default;
        error = null;
        if (string.IsNullOrWhiteSpace(value))
        {
            error = "must be an ISO 8601 UTC time such as 2026-05-01T13:45:00Z.";
            return false;
        }

        var s = value.Trim();
        var hasZ = s.EndsWith('Z') || s.EndsWith('z');
        var hasUtcOffset = s.EndsWith("+00:00", StringComparison.Ordinal) || s.EndsWith("-00:00", StringComparison.Ordinal);
        if (!hasZ && !hasUtcOffset)
        {
            error = System.Text.RegularExpressions.Regex.IsMatch(s, @"[+-]\d\d:?\d\d$")
                ? "must be in UTC: end with 'Z' or '+00:00' (other offsets are not converted)."
                : "must carry its zone: end with 'Z' (UTC), e.g. 2026-05-01T13:45:00Z.";
            return false;
        }

        if (!s.Contains('T', StringComparison.OrdinalIgnoreCase) ||
            !DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out instant))
        {
            error = "is not an ISO 8601 time such as 2026-05-01T13:45:00Z.";
            return false;
        }

        instant = instant.ToUniversalTime();
        return true;
    }

    private static IResult TooLarge(long maxBytes)
        => Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Request body too large",
        detail: $"The body must be at most {maxBytes} bytes.");

    /// <summary>"$.requireSchedule" → "requireSchedule"; null for the document itself ("$" or no path).</summary>
    private static string? FieldOf(string? path)
    {
        if (path is null || !path.StartsWith("$.", StringComparison.Ordinal) || path.Length == 2)
        {
            return null;
        }

        var field = path[2..];
        var end = field.IndexOfAny(['.', '[']);
        return end < 0 ? field : field[..end];
    }
}
