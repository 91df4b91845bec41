using Broadcast.Refusals;

namespace Broadcast.Control;

/// <summary>A request that failed validation; <see cref="Refusal.Errors"/> maps each field (camelCase) to its messages.
/// Answered 400 "Invalid request" with <c>errors</c> by the <see cref="RefusalBoundary"/>.</summary>
public sealed class ValidationFailedException(IReadOnlyDictionary<string, string[]> errors)
    : Refusal(errors, "Request is invalid: " + string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}")), "Invalid request")
{
    /// <summary>The messages per field, never null here.</summary>
    public new IReadOnlyDictionary<string, string[]> Errors { get; } = errors;

    public static ValidationFailedException For(string field, string message) => new(new Dictionary<string, string[]> { [field] = [message] });
}

/// <summary>The request is valid but conflicts with the current state (e.g. editing an ended event): 409 "Conflict".</summary>
public sealed class ConflictException(string message) : Refusal(RefusalKind.Conflict, message, field: null, title: "Conflict");
