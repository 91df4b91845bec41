using System.Security.Cryptography;
using Broadcast.Control.Channels;
using Broadcast.Control.Persistence;
using Broadcast.Control.Protection;
using Broadcast.Control.Security;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Server.Tests.Protection;

/// <summary>
/// A protection test over control's channels and content key store, on a SQLite database of its own in a folder of its own
/// (what <c>AddChannelProtection</c> composes its providers over), made before each test and deleted after it.
/// </summary>
public abstract class ChannelKeysTest(string folder) : IAsyncLifetime
{
    private readonly TempDirectory _folder = new(folder);
    private readonly byte[] _secret = RandomNumberGenerator.GetBytes(32);

    protected ControlDatabase Database { get; private set; } = null!;

    protected ChannelService Channels { get; private set; } = null!;

    protected ContentKeyStore Keys { get; private set; } = null!;

    public virtual async Task InitializeAsync()
    {
        Database = new SqliteControlDatabase($"Data Source={_folder.Combine("broadcast.db")}");
        await Database.MigrateAsync();
        Channels = new ChannelService(new SqlChannelRepository(Database), new StreamKeyProtector(_secret), TimeProvider.System,
            new Broadcast.Control.Events.LocalPublishRuleChanges(), NullLogger<ChannelService>.Instance);
        Keys = new ContentKeyStore(Database, new StreamKeyProtector(_secret), TimeProvider.System);
    }

    public virtual async Task DisposeAsync()
    {
        await Database.DisposeAsync();
        _folder.Dispose();
    }
}
