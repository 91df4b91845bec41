using System.Collections.Concurrent;
using Broadcast.Ingest.Rtmp;
using Broadcast.Media;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Ingest.Tests.Rtmp;

/// <summary>Accepts a few known keys, like the control plane would; a stand-in because the real one lives in control/.</summary>
internal sealed class TestPublishAuthorizer : IPublishAuthorizer
{
    public const string GoodKey = "good";
    public const string SecondKey = "good-2";

    public ConcurrentQueue<PublishDecision> Unpublished { get; } = new();

    /// <summary>What <see cref="HoldAfterStopAsync"/> answers (a stop inside a scheduled event); null: a stop ends the publish.</summary>
    public TimeSpan? HoldAfterStop { get; set; }

    public ValueTask<TimeSpan?> HoldAfterStopAsync(PublishDecision decision, CancellationToken cancellationToken) => ValueTask.FromResult(HoldAfterStop);

    public ValueTask<PublishDecision> AuthorizeAsync(PublishRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult(request.StreamKey switch
        {
            GoodKey when request.App == "live" => PublishDecision.Allow(PublishTickets.For("news"), "channel-1"),
            SecondKey when request.App == "live" => PublishDecision.Allow(PublishTickets.For("sport"), "channel-2"),
            _ => PublishDecision.DenyKey("unknown stream key"),
        });

    public ValueTask OnUnpublishedAsync(PublishDecision decision, CancellationToken cancellationToken)
    {
        Unpublished.Enqueue(decision);
        return ValueTask.CompletedTask;
    }
}

internal sealed record LogEntry(int EventId, LogLevel Level, string Message, long? ConnectionId);

internal sealed class CapturingLoggerProvider : ILoggerProvider, ILogger
{
    public ConcurrentQueue<LogEntry> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        long? connectionId = null;
        if (state is IEnumerable<KeyValuePair<string, object?>> properties)
        {
            foreach (var (key, value) in properties)
                if (key == "ConnectionId" && value is long id) connectionId = id;
        }
        Entries.Enqueue(new LogEntry(eventId.Id, logLevel, formatter(state, exception) + (exception is null ? "" : " " + exception), connectionId));
    }

    public void Dispose()
    {
    }
}

/// <summary>A real host with AddRtmpIngest on 127.0.0.1, port 0.</summary>
internal sealed class RtmpTestHost : IAsyncDisposable
{
    private readonly IHost _host;

    private RtmpTestHost(IHost host, CapturingLoggerProvider logs)
    {
        _host = host;
        Logs = logs;
    }

    public CapturingLoggerProvider Logs { get; }

    public RtmpServer Server => _host.Services.GetRequiredService<RtmpServer>();

    public IServiceProvider Services => _host.Services;

    public LiveStreamRegistry Registry => _host.Services.GetRequiredService<LiveStreamRegistry>();

    public TestPublishAuthorizer Authorizer => (TestPublishAuthorizer)_host.Services.GetRequiredService<IPublishAuthorizer>();

    public IRtmpConnections Connections => _host.Services.GetRequiredService<IRtmpConnections>();

    public System.Net.IPEndPoint EndPoint => Server.LocalEndPoint!;

    public static async Task<RtmpTestHost> StartAsync(Dictionary<string, string?>? settings = null)
    {
        var logs = new CapturingLoggerProvider();
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Rtmp:Port"] = "0",
                ["Rtmp:BindAddress"] = "127.0.0.1",
            })
            .AddInMemoryCollection(settings ?? [])
            .Build();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddProvider(logs);
        builder.Services.AddSingleton<LiveStreamRegistry>();
        builder.Services.AddSingleton<IPublishAuthorizer, TestPublishAuthorizer>();
        builder.Services.AddRtmpIngest(configuration);
        var host = builder.Build();
        await host.StartAsync();
        return new RtmpTestHost(host, logs);
    }

    /// <summary>
    /// Waits for a condition with a generous bound instead of sleeping a fixed time; false when it never held, so a
    /// test can also assert that something does not happen within the bound.
    /// </summary>
    public static async Task<bool> EventuallyAsync(Func<bool> condition, int timeoutSeconds = 20)
    {
        try
        {
            await WaitFor.ConditionAsync(condition, TimeSpan.FromSeconds(timeoutSeconds), "an RTMP host condition", pollInterval: TimeSpan.FromMilliseconds(20));
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync(TimeSpan.FromSeconds(10));
        _host.Dispose();
    }
}
