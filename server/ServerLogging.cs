using Serilog;
using Serilog.Formatting;
using Serilog.Formatting.Json;

namespace Broadcast.Server;

/// <summary>
/// The server's Serilog pipeline: levels, enrichers and any extra sinks from the <c>Serilog</c> section, plus the
/// console, whose format <c>Logging:Format</c> picks: <c>text</c> (default, one readable line) or <c>json</c> (one
/// JSON object per line for a log shipper: timestamp, level, template, rendered message and every property,
/// the event id included).
/// </summary>
public static class ServerLogging
{
    public const string FormatKey = "Logging:Format";

    /// <summary>The text console line: time, level, source, message, then the structured properties (event id…).</summary>
    public const string TextTemplate = "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj} {Properties:j}{NewLine}{Exception}";

    public static Serilog.Core.Logger CreateLogger(IConfiguration configuration)
    {
        var logger = new LoggerConfiguration().ReadFrom.Configuration(configuration);
        var json = JsonFormatter(configuration);
        logger = json is null ? logger.WriteTo.Console(outputTemplate: TextTemplate) : logger.WriteTo.Console(json);
        return logger.CreateLogger();
    }

    /// <summary>
    /// The console's JSON formatter when <c>Logging:Format</c> is <c>json</c>, null for <c>text</c> or unset.
    /// Any other value stops the start with a message naming the key.
    /// </summary>
    public static ITextFormatter? JsonFormatter(IConfiguration configuration)
    {
        string? format = configuration[FormatKey];
        if (string.IsNullOrWhiteSpace(format) || string.Equals(format.Trim(), "text", StringComparison.OrdinalIgnoreCase)) return null;
        if (string.Equals(format.Trim(), "json", StringComparison.OrdinalIgnoreCase)) return new JsonFormatter(renderMessage: true);
        throw new InvalidOperationException($"{FormatKey} is '{format}': use 'text' (the default) or 'json'.");
    }
}
