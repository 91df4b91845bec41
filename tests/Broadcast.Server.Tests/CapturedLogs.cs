using System.Collections.Concurrent;
using Serilog;
using Serilog.Configuration;
using Serilog.Core;
using Serilog.Events;

namespace Broadcast.Server.Tests;

/// <summary>
/// A Serilog sink a test server is configured with through its own <c>Serilog</c> section (<see cref="Arguments"/>), so
/// the test reads what the server's real log pipeline keeps, its filters included. Each test uses a name of its own.
/// </summary>
public static class CapturedLogs
{
    private static readonly ConcurrentDictionary<string, ConcurrentQueue<LogEvent>> Logs = new(StringComparer.Ordinal);

    /// <summary>The server arguments that add this sink under <paramref name="name"/>, from Information up.</summary>
    public static string[] Arguments(string name) =>
    [
        "--Serilog:Using:0=Broadcast.Server.Tests",
        "--Serilog:WriteTo:0:Name=Captured",
        $"--Serilog:WriteTo:0:Args:name={name}",
        "--Serilog:MinimumLevel:Default=Information",
        "--Serilog:MinimumLevel:Override:Microsoft=Information",
    ];

    /// <summary>What the sink named <paramref name="name"/> has received so far.</summary>
    public static IReadOnlyList<LogEvent> Of(string name) => Logs.TryGetValue(name, out var q) ? q.ToArray() : [];

    /// <summary>The sink, found by Serilog's configuration reader by this name.</summary>
    public static LoggerConfiguration Captured(this LoggerSinkConfiguration sinks, string name)
    {
        ArgumentNullException.ThrowIfNull(sinks);
        return sinks.Sink(new Sink(Logs.GetOrAdd(name, _ => new ConcurrentQueue<LogEvent>())));
    }

    /// <summary>The event id a log event carries (0 when none).</summary>
    public static int EventIdOf(LogEvent e)
        => e.Properties.TryGetValue("EventId", out var id) && id is StructureValue s
            && s.Properties.FirstOrDefault(p => p.Name == "Id")?.Value is ScalarValue { Value: int n } ? n : 0;

    private sealed class Sink(ConcurrentQueue<LogEvent> queue) : ILogEventSink
    {
        public void Emit(LogEvent logEvent) => queue.Enqueue(logEvent);
    }
}
