using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Harness;

/// <summary>
/// Tests of the harness itself (no Broadcast server): one collection so they run one after another and
/// share a browser, leaving the machine's two cores to the server collection running beside them.
/// </summary>
[CollectionDefinition(Name)]
public sealed class HarnessCollection : ICollectionFixture<HarnessFixture>
{
    public const string Name = "harness";
}

public sealed class HarnessFixture : IAsyncLifetime
{
    private Task<BrowserHost>? _browser;

    /// <summary>VOD fixtures written by tests, served under /media/ next to the player pages.</summary>
    public TempDirectory Media { get; } = new("broadcast-harness-media");

    /// <summary>The shared browser, started on first use (tests that need none don't pay for it).</summary>
    public Task<BrowserHost> BrowserAsync()
    {
        lock (Media)
        {
            return _browser ??= BrowserHost.StartAsync(new Dictionary<string, string> { ["media"] = Media.Path });
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_browser is { IsCompletedSuccessfully: true })
        {
            await (await _browser).DisposeAsync();
        }

        Media.Dispose();
    }
}
