namespace Broadcast.Storage;

/// <summary>
/// What anonymous callers (<c>GET /status/store</c>, for monitoring) learn of a store failure: a few classified words,
/// never the exception's text, which can name an object key, and so a private channel's slug, a path or a bucket. The full
/// message stays in the server's log and in the admin's channel status.
/// </summary>
public static class StoreErrorSummary
{
    public const string NoSpace = "No space left on device";
    public const string PermissionDenied = "Permission denied";
    public const string ReadOnly = "Read-only file system";
    public const string TimedOut = "Timed out";
    public const string Unavailable = "Store unavailable";

    public static string? Of(string? message)
    {
        if (message is null) return null;
        if (Has(message, "No space left") || Has(message, "disk full")) return NoSpace;
        if (Has(message, "Read-only file system")) return ReadOnly;
        if (Has(message, "Permission denied") || Has(message, "Access to the path") || Has(message, "AccessDenied") || Has(message, "Forbidden"))
            return PermissionDenied;
        if (Has(message, "timed out") || Has(message, "timeout")) return TimedOut;
        return Unavailable;
    }

    private static bool Has(string message, string words) => message.Contains(words, StringComparison.OrdinalIgnoreCase);
}
