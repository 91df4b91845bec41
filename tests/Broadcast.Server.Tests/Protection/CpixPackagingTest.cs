using Broadcast.TestSupport;

namespace Broadcast.Server.Tests.Protection;

/// <summary>
/// A packaging test against the CPIX key server stand-in: a stand-in started before each test and stopped after it, and a
/// folder of its own the broadcast is stored in.
/// </summary>
public abstract class CpixPackagingTest(string folder) : IAsyncLifetime
{
    /// <summary>Where the test's broadcast is stored; deleted after the test.</summary>
    protected TempDirectory Dir { get; } = new(folder);

    /// <summary>The key server the provider under test asks.</summary>
    protected CpixKeyServerStandIn KeyServer { get; private set; } = null!;

    public async Task InitializeAsync() => KeyServer = await CpixKeyServerStandIn.StartAsync();

    public async Task DisposeAsync()
    {
        await KeyServer.DisposeAsync();
        Dir.Dispose();
    }
}
