using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Broadcast.Control.Analytics;

/// <summary>The <c>Analytics</c> section: how long the audience kept per broadcast stays (docs/configuration.md).</summary>
public sealed record AnalyticsOptions(int RetentionDays)
{
    public const int DefaultRetentionDays = 90;

    public TimeSpan Retention => TimeSpan.FromDays(RetentionDays);

    /// <summary>Reads <c>Analytics:RetentionDays</c> (1..3650, default 90); a bad value stops the start with its reason.</summary>
    public static AnalyticsOptions From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (configuration["Analytics:RetentionDays"] is not { Length: > 0 } text) return new AnalyticsOptions(DefaultRetentionDays);
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int days) && days is >= 1 and <= 3650
            ? new AnalyticsOptions(days)
            : throw new InvalidOperationException($"Analytics:RetentionDays '{text}' must be a whole number of days from 1 to 3650.");
    }
}
