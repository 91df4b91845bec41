using Broadcast.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broadcast.Server.Tests;

/// <summary>
/// <c>Logging:Requests</c>: off by default, and then ASP.NET Core's request log category is silenced outright, since while
/// it can log at any level the host starts a diagnostic activity for every request. On, its lines come at Information
/// even though the Serilog section keeps "Microsoft" at Warning. Built through the composition root, not started.
/// </summary>
public sealed class RequestLogTests
{
    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("false", false)]
    [InlineData("True", true)]
    [InlineData(" true ", true)]
    public void The_switch_reads_true_or_false_and_defaults_to_off(string? value, bool expected)
        => Assert.Equal(expected, ServerLogging.LogsRequests(Config(value)));

    [Fact]
    public void Another_value_stops_the_start_naming_the_key()
    {
        var e = Assert.Throws<InvalidOperationException>(() => ServerLogging.LogsRequests(Config("yes")));
        Assert.Contains("Logging:Requests", e.Message, StringComparison.Ordinal);
        Assert.Contains("yes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Off_the_request_category_cannot_log_at_all_and_other_categories_still_warn()
    {
        using var data = new TempDirectory("request-log");
        await using var app = BroadcastApp.Build(Args(data));
        var loggers = app.Services.GetRequiredService<ILoggerFactory>();
        Assert.False(loggers.CreateLogger(ServerLogging.RequestsCategory).IsEnabled(LogLevel.Critical));
        Assert.True(loggers.CreateLogger("Microsoft.AspNetCore.Server.Kestrel").IsEnabled(LogLevel.Warning));
        Assert.True(loggers.CreateLogger("Broadcast.Origin.OriginRequestHandler").IsEnabled(LogLevel.Information));
    }

    [Fact]
    public async Task On_the_request_lines_come_at_information()
    {
        using var data = new TempDirectory("request-log");
        await using var app = BroadcastApp.Build(Args(data, "--Logging:Requests=true"));
        var loggers = app.Services.GetRequiredService<ILoggerFactory>();
        Assert.True(loggers.CreateLogger(ServerLogging.RequestsCategory).IsEnabled(LogLevel.Information));
        Assert.False(loggers.CreateLogger("Microsoft.AspNetCore.Server.Kestrel").IsEnabled(LogLevel.Information));
    }

    private static string[] Args(TempDirectory data, params string[] more) =>
        ["--Roles=origin", "--Playback:PublicOnly=true", "--Http:Urls=http://127.0.0.1:0", $"--Storage:Path={data.Combine("media")}", .. more];

    private static IConfiguration Config(string? value) =>
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [ServerLogging.RequestsKey] = value }).Build();
}
