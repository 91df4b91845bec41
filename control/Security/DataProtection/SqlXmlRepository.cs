using System.Xml.Linq;
using Broadcast.Control.Persistence;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Broadcast.Control.Security.DataProtection;

/// <summary>
/// Data Protection's key ring in the control database (<c>data_protection_keys</c>, migration 0007): every control node
/// on the same PostgreSQL reads the same keys, so a session cookie or antiforgery token issued by one node is accepted by
/// the others, and a restart or a new container keeps every session. The elements stored here are already encrypted by
/// <see cref="ServerSecretXmlEncryptor"/>.
/// </summary>
public sealed class SqlXmlRepository(ControlDatabase database, TimeProvider time) : IXmlRepository
{
    // IXmlRepository is synchronous; Data Protection calls it when it loads or refreshes the key ring (at first use, then
    // about once a day) and when it creates a key, never per request, so blocking on the database here is rare and short.
    public IReadOnlyCollection<XElement> GetAllElements()
        => Sql.QueryAsync(database, "SELECT xml FROM data_protection_keys ORDER BY created_at, name", _ => { },
                r => XElement.Parse(r.GetString(0)), CancellationToken.None)
            .GetAwaiter().GetResult();

    public void StoreElement(XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        // Data Protection names keys "key-{guid}"; a name that exists already is another node's identical key.
        string name = string.IsNullOrWhiteSpace(friendlyName) ? "key-" + Guid.NewGuid().ToString("N") : friendlyName;
        Sql.ExecuteAsync(database, "INSERT INTO data_protection_keys (name, xml, created_at) VALUES (@name, @xml, @created_at)", c =>
            {
                Sql.Add(c, "name", name);
                Sql.Add(c, "xml", element.ToString(SaveOptions.DisableFormatting));
                Sql.Add(c, "created_at", Sql.Millis(time.GetUtcNow()));
            }, CancellationToken.None)
            .GetAwaiter().GetResult();
    }
}
