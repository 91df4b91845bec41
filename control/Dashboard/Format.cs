using System.Globalization;
using Broadcast.Refusals;
using Microsoft.AspNetCore.Mvc.ModelBinding;

namespace Broadcast.Control.Dashboard;

/// <summary>Numbers and times as the dashboard prints them (invariant culture, UTC).</summary>
public static class Format
{
    public static string Bitrate(long bitsPerSecond) => bitsPerSecond switch
    {
        <= 0 => "–",
        < 1_000_000 => (bitsPerSecond / 1000.0).ToString("0", CultureInfo.InvariantCulture) + " kb/s",
        _ => (bitsPerSecond / 1_000_000.0).ToString("0.00", CultureInfo.InvariantCulture) + " Mb/s",
    };

    public static string Utc(DateTimeOffset t) => t.UtcDateTime.ToString("ddd d MMM yyyy, HH:mm 'UTC'", CultureInfo.InvariantCulture);

    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("HH:mm", CultureInfo.InvariantCulture);

    /// <summary>The value of an <c>input type="datetime-local"</c> showing <paramref name="t"/> in UTC.</summary>
    public static string LocalInput(DateTimeOffset? t) => t?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture) ?? "";

    public static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string Duration(TimeSpan d) => d.TotalHours >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{(int)d.TotalHours}:{d.Minutes:00}:{d.Seconds:00}")
        : string.Create(CultureInfo.InvariantCulture, $"{d.Minutes}:{d.Seconds:00}");

    public static string Bytes(long bytes) => bytes switch
    {
        < 1024 * 1024 => (bytes / 1024.0).ToString("0", CultureInfo.InvariantCulture) + " KB",
        < 1024L * 1024 * 1024 => (bytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) + " MB",
        _ => (bytes / 1073741824.0).ToString("0.00", CultureInfo.InvariantCulture) + " GB",
    };
}

/// <summary>
/// A refused form action, as the dashboard's pages show it: the service's camelCase field errors onto the form's
/// model-state keys (e.g. "name" → "Input.Name"), or, for a page that redirects, one sentence for its flash. A page
/// catches <see cref="Refusal"/> once, whatever its kind: an invalid field, a conflict with the record's state, a
/// clip's range.
/// </summary>
public static class FormErrors
{
    /// <summary>The refusal's messages by field: an invalid request's field errors, or its one message under its field
    /// (under "state", the form's summary, when it names none).</summary>
    public static IReadOnlyDictionary<string, string[]> Of(Refusal refusal)
    {
        ArgumentNullException.ThrowIfNull(refusal);
        return refusal.Errors ?? new Dictionary<string, string[]>(StringComparer.Ordinal) { [refusal.Field ?? "state"] = [refusal.Message] };
    }

    /// <summary>Shows <paramref name="refusal"/> in the form whose model is bound under <paramref name="prefix"/>.</summary>
    public static void Add(ModelStateDictionary modelState, Refusal refusal, string prefix) => Add(modelState, Of(refusal), prefix);

    /// <summary>Every message of <paramref name="refusal"/>, in one line (a redirecting page's flash).</summary>
    public static string Sentence(Refusal refusal) => string.Join(" ", Of(refusal).Values.SelectMany(m => m));

    public static void Add(ModelStateDictionary modelState, IReadOnlyDictionary<string, string[]> errors, string prefix)
    {
        ArgumentNullException.ThrowIfNull(modelState);
        ArgumentNullException.ThrowIfNull(errors);
        foreach (var (field, messages) in errors)
        {
            // Errors about the record as a whole (its state, its id) go to the form summary, not to a field.
            var key = field.Length == 0 || field is "state" or "id" ? string.Empty : $"{prefix}.{char.ToUpperInvariant(field[0])}{field[1..]}";
            foreach (var message in messages)
            {
                modelState.AddModelError(key, message);
            }
        }
    }
}
