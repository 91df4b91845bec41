using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Chat;

/// <summary>
/// The chat tests' own server. Every browser here connects from 127.0.0.1, so the per-address chat bucket (a production
/// limit, unit-tested in Broadcast.Control.Tests) is raised: the viewers of one test, and of the tests before it, would
/// otherwise share 20 messages. Broadcasts are recorded, for the replay test.
/// </summary>
public sealed class ChatServerFixture : IAsyncLifetime
{
    private ServerProcess? _server;

    public ServerProcess Server => _server ?? throw new InvalidOperationException("Server not started.");

    public async Task InitializeAsync() => _server = await ServerProcess.StartAsync(new ServerOptions
    {
        ExtraArguments = ["--Packager:RecordByDefault=true", "--Transcode:Enabled=false", "--Chat:AddressMessagesPerMinute=6000", "--Chat:AddressBurst=1000"],
    });

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }

    public string WithLog(string message) =>
        $"{message}{Environment.NewLine}--- server log tail ---{Environment.NewLine}{_server?.LogTail() ?? "(server not started)"}";
}
