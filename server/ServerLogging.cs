using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Serilog;
using Serilog.Events;
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

    /// <summary>The request log's switch: <c>true</c> logs a line as each HTTP request starts and as it finishes.</summary>
    public const string RequestsKey = "Logging:Requests";

    /// <summary>ASP.NET Core's category for those lines.</summary>
    public const string RequestsCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    /// <summary>The text console line: time, level, source, message, then the structured properties (event id…).</summary>
    public const string TextTemplate = "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj} {Properties:j}{NewLine}{Exception}";

    public static Serilog.Core.Logger CreateLogger(IConfiguration configuration)
    {
        var logger = new LoggerConfiguration().ReadFrom.Configuration(configuration).Filter.ByExcluding(IsHubRefusal);
        // The Serilog section's "Microsoft": "Warning" would hide them; the more specific override wins.
        if (LogsRequests(configuration)) logger = logger.MinimumLevel.Override(RequestsCategory, LogEventLevel.Information);
        var json = JsonFormatter(configuration);
        logger = json is null ? logger.WriteTo.Console(outputTemplate: TextTemplate) : logger.WriteTo.Console(json);
        return logger.CreateLogger();
    }

    /// <summary>
    /// SignalR logs every exception a hub method throws as an error with its stack trace, the refusals a hub throws on
    /// purpose (<see cref="Microsoft.AspNetCore.SignalR.HubException"/>: the sentence the caller is sent) included. Those are
    /// the hub working, and the hub logs them itself at their own level (chat: event 7019, once per connection a minute);
    /// any other exception still reaches the log as SignalR writes it.
    /// </summary>
    public static bool IsHubRefusal(LogEvent e)
        => e.Exception is Microsoft.AspNetCore.SignalR.HubException
            && e.Properties.TryGetValue("SourceContext", out var source) && source is ScalarValue { Value: string category }
            && category.StartsWith("Microsoft.AspNetCore.SignalR.", StringComparison.Ordinal);

    /// <summary>
    /// Whether <c>Logging:Requests</c> is on (unset: off). Off, the server silences <see cref="RequestsCategory"/> outright
    /// rather than at a level: while that category can log at all, ASP.NET Core starts a diagnostic activity for every
    /// request (for the scope of those lines): 14 % of the CPU of a playlist request (bench/RESULTS.md). Any value but
    /// true or false stops the start with a message naming the key.
    /// </summary>
    public static bool LogsRequests(IConfiguration configuration)
    {
        string? value = configuration[RequestsKey];
        if (string.IsNullOrWhiteSpace(value)) return false;
        return bool.TryParse(value.Trim(), out bool on) ? on
            : throw new InvalidOperationException($"{RequestsKey} is '{value}': use 'true' or 'false' (the default).");
    }

    /// <summary>
    /// What the server prints straight to the console, outside the log pipeline (the start-up banner: it holds secrets
    /// that must never reach a log file): the text as it is, or with <c>Logging:Format=json</c> one JSON object shaped
    /// like the log lines (<c>Timestamp</c>, <c>Level</c>, <c>MessageTemplate</c>, <c>RenderedMessage</c>,
    /// <c>Properties.SourceContext</c>), so that a shipper reading the console still sees only JSON.
    /// </summary>
    public static string ConsoleText(IConfiguration configuration, string text, string source, DateTimeOffset now)
    {
        if (JsonFormatter(configuration) is null) return text;
        var buffer = new MemoryStream();
        // Console text, never HTML: keep > and ' readable, as Serilog's formatter does.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("Timestamp", now);
            json.WriteString("Level", "Information");
            json.WriteString("MessageTemplate", "{Text}");
            json.WriteString("RenderedMessage", text.Trim('\r', '\n'));
            json.WriteStartObject("Properties");
            json.WriteString("SourceContext", source);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
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
