using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Logging;
using Serilog.Formatting;

namespace Broadcast.Server.Tests;

/// <summary>
/// <c>Logging:Format=json</c> makes every console line one JSON object a log shipper can parse, with the
/// structured properties (the event id first among them) as fields; the default stays the readable text line.
/// The line is produced the way the server produces it: an <see cref="ILogger"/> call through Serilog's provider,
/// formatted by the formatter <see cref="ServerLogging"/> picks for the console.
/// </summary>
public sealed class JsonLoggingTests
{
    [Fact]
    public void A_log_call_comes_out_as_one_json_object_with_its_event_id()
    {
        var formatter = ServerLogging.JsonFormatter(Config("json"));
        Assert.NotNull(formatter);
        string output = Log(formatter, logger => logger.LogWarning(new EventId(4242, "UploadBacklogHigh"), "Backlog of {Channel} is {Bytes} bytes", "news", 1048576));

        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = Assert.Single(lines);
        using var json = JsonDocument.Parse(line);
        var root = json.RootElement;
        Assert.Equal("Warning", root.GetProperty("Level").GetString());
        Assert.Equal("Backlog of {Channel} is {Bytes} bytes", root.GetProperty("MessageTemplate").GetString());
        Assert.Equal("Backlog of \"news\" is 1048576 bytes", root.GetProperty("RenderedMessage").GetString());
        Assert.True(DateTimeOffset.TryParse(root.GetProperty("Timestamp").GetString(), out _));
        var properties = root.GetProperty("Properties");
        Assert.Equal(4242, properties.GetProperty("EventId").GetProperty("Id").GetInt32());
        Assert.Equal("UploadBacklogHigh", properties.GetProperty("EventId").GetProperty("Name").GetString());
        Assert.Equal("news", properties.GetProperty("Channel").GetString());
        Assert.Equal(1048576, properties.GetProperty("Bytes").GetInt32());
        Assert.Equal("Broadcast.Tests.Json", properties.GetProperty("SourceContext").GetString());
    }

    [Fact]
    public void An_exception_stays_inside_the_json_line()
    {
        var formatter = ServerLogging.JsonFormatter(Config("JSON"))!;
        string output = Log(formatter, logger => logger.LogError(new EventId(4243), new InvalidOperationException("bucket gone\nsecond line"), "Upload failed"));

        using var json = JsonDocument.Parse(Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.Contains("bucket gone\nsecond line", json.RootElement.GetProperty("Exception").GetString(), StringComparison.Ordinal);
        Assert.Equal(4243, json.RootElement.GetProperty("Properties").GetProperty("EventId").GetProperty("Id").GetInt32());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("text")]
    [InlineData("Text")]
    public void Text_is_the_default(string? format) => Assert.Null(ServerLogging.JsonFormatter(Config(format)));

    [Fact]
    public void An_unknown_format_stops_the_start_naming_the_key()
    {
        var e = Assert.Throws<InvalidOperationException>(() => ServerLogging.JsonFormatter(Config("xml")));
        Assert.Contains("Logging:Format", e.Message, StringComparison.Ordinal);
        Assert.Contains("xml", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_server_builds_its_logger_in_either_format()
    {
        // Serilog's own settings (levels, enrichers) still come from the Serilog section beside the switch.
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Logging:Format"] = "json",
            ["Serilog:MinimumLevel:Default"] = "Warning",
        }).Build();
        using var json = ServerLogging.CreateLogger(configuration);
        Assert.False(json.IsEnabled(LogEventLevel.Information));
        Assert.True(json.IsEnabled(LogEventLevel.Warning));
        using var text = ServerLogging.CreateLogger(Config(null));
        Assert.True(text.IsEnabled(LogEventLevel.Information));
    }

    [Fact]
    public void The_start_up_banner_is_one_json_object_in_json_mode_and_plain_text_otherwise()
    {
        const string banner = "\nBroadcast is running (roles: all)\n  RTMP server: rtmp://localhost:1935/live\n";
        var now = new DateTimeOffset(2026, 11, 22, 15, 0, 0, TimeSpan.Zero);
        Assert.Equal(banner, ServerLogging.ConsoleText(Config(null), banner, "Broadcast.Server.StartupBanner", now));

        string line = ServerLogging.ConsoleText(Config("json"), banner, "Broadcast.Server.StartupBanner", now);
        Assert.DoesNotContain('\n', line);
        using var json = JsonDocument.Parse(line);
        Assert.Equal("Information", json.RootElement.GetProperty("Level").GetString());
        Assert.Equal(now, json.RootElement.GetProperty("Timestamp").GetDateTimeOffset());
        Assert.Equal("Broadcast is running (roles: all)\n  RTMP server: rtmp://localhost:1935/live", json.RootElement.GetProperty("RenderedMessage").GetString());
        Assert.Equal("Broadcast.Server.StartupBanner", json.RootElement.GetProperty("Properties").GetProperty("SourceContext").GetString());
    }

    private static IConfiguration Config(string? format)
        => new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [ServerLogging.FormatKey] = format }).Build();

    private static string Log(ITextFormatter formatter, Action<Microsoft.Extensions.Logging.ILogger> write)
    {
        var writer = new StringWriter();
        using (var serilog = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(new WriterSink(formatter, writer)).CreateLogger())
        using (var provider = new SerilogLoggerProvider(serilog))
        {
            write(provider.CreateLogger("Broadcast.Tests.Json"));
        }

        return writer.ToString();
    }

    /// <summary>The console sink's job, into a string: the formatter writes one event, as it would to stdout.</summary>
    private sealed class WriterSink(ITextFormatter formatter, TextWriter writer) : ILogEventSink
    {
        public void Emit(LogEvent logEvent) => formatter.Format(logEvent, writer);
    }
}
