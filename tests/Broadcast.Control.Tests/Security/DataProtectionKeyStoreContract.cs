using System.Security.Cryptography;
using System.Xml.Linq;
using Broadcast.Control.Persistence;
using Broadcast.Control.Security.DataProtection;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Tests.Security;

/// <summary>The Data Protection key ring on each back-end (migration 0007), as two control nodes sharing one database see it.</summary>
public abstract class DataProtectionKeyStoreContract : IAsyncLifetime
{
    private readonly Func<ControlDatabase> _create;

    protected DataProtectionKeyStoreContract(Func<ControlDatabase> create) => _create = create;

    private ControlDatabase Database { get; set; } = null!;

    public async Task InitializeAsync()
    {
        Database = _create();
        await Database.MigrateAsync();
    }

    public async Task DisposeAsync() => await Database.DisposeAsync();

    [Fact]
    public void Keys_stored_by_one_node_are_read_by_another_in_order_and_a_repeated_name_is_refused()
    {
        var nodeA = new SqlXmlRepository(Database, TimeProvider.System);
        var nodeB = new SqlXmlRepository(Database, TimeProvider.System);
        Assert.Empty(nodeB.GetAllElements());
        nodeA.StoreElement(new XElement("key", new XAttribute("id", "1")), "key-1");
        nodeB.StoreElement(new XElement("key", new XAttribute("id", "2"), new XElement("descriptor", "d")), "key-2");
        Assert.Equal(["1", "2"], nodeA.GetAllElements().Select(e => (string)e.Attribute("id")!).ToArray());
        Assert.Equal("d", nodeB.GetAllElements().Last().Element("descriptor")!.Value);
        Assert.ThrowsAny<System.Data.Common.DbException>(() => nodeA.StoreElement(new XElement("key"), "key-1"));
    }

    [Fact]
    public void A_key_encrypted_under_the_server_secret_opens_only_with_that_secret()
    {
        byte[] secret = RandomNumberGenerator.GetBytes(32);
        var masterKey = new XElement("masterKey", new XElement("value", "c2VjcmV0LWtleS1ieXRlcw=="));
        var encrypted = new ServerSecretXmlEncryptor(new DataProtectionKeyCipher(secret)).Encrypt(masterKey);
        Assert.Equal(typeof(ServerSecretXmlDecryptor), encrypted.DecryptorType);
        Assert.DoesNotContain("c2VjcmV0", encrypted.EncryptedElement.ToString(), StringComparison.Ordinal);

        Assert.Equal(masterKey.ToString(), Decryptor(secret).Decrypt(encrypted.EncryptedElement).ToString());
        Assert.Throws<AuthenticationTagMismatchException>(() => Decryptor(RandomNumberGenerator.GetBytes(32)).Decrypt(encrypted.EncryptedElement));
        var tampered = new XElement(encrypted.EncryptedElement.Name, "AAAA" + encrypted.EncryptedElement.Value[4..]);
        Assert.ThrowsAny<CryptographicException>(() => Decryptor(secret).Decrypt(tampered));
        Assert.ThrowsAny<CryptographicException>(() => Decryptor(secret).Decrypt(new XElement(encrypted.EncryptedElement.Name, "not base64!")));
        Assert.ThrowsAny<CryptographicException>(() => Decryptor(secret).Decrypt(new XElement(encrypted.EncryptedElement.Name, "AAAA")));
        Assert.ThrowsAny<CryptographicException>(() => Decryptor(secret).Decrypt(new XElement("other", encrypted.EncryptedElement.Value)));
    }

    private static ServerSecretXmlDecryptor Decryptor(byte[] secret)
        => new(new ServiceCollection().AddSingleton(new DataProtectionKeyCipher(secret)).BuildServiceProvider());
}

public sealed class SqliteDataProtectionKeyStoreTests : DataProtectionKeyStoreContract, IDisposable
{
    private static readonly TempDirectory Directory = new();

    public SqliteDataProtectionKeyStoreTests()
        : base(() => new SqliteControlDatabase($"Data Source={Directory.File(Guid.NewGuid().ToString("N") + ".db")}"))
    {
    }

    public void Dispose() => Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
}

[Trait("Kind", "Component")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresDataProtectionKeyStoreTests(PostgresTestCluster cluster)
    : DataProtectionKeyStoreContract(() => new PostgresControlDatabase(cluster.CreateDatabase("dpkeys")));
