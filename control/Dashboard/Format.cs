using System.Globalization;
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

/// <summary>Maps the service's camelCase field errors onto the form's model-state keys (e.g. "name" → "Input.Name").</summary>
public static class FormErrors
{
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
