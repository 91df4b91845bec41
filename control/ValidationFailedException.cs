namespace Broadcast.Control;

/// <summary>A request that failed validation; <see cref="Errors"/> maps each field (camelCase) to its messages.</summary>
public sealed class ValidationFailedException(IReadOnlyDictionary<string, string[]> errors)
    : Exception("Request is invalid: " + string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}")))
{
    public IReadOnlyDictionary<string, string[]> Errors { get; } = errors;

    public static ValidationFailedException For(string field, string message) => new(new Dictionary<string, string[]> { [field] = [message] });
}

/// <summary>The request is valid but conflicts with the current state (e.g. editing an ended event).</summary>
public sealed class ConflictException(string message) : Exception(message);
