using System.Globalization;
using Broadcast.Control.Persistence;
using Microsoft.Extensions.Configuration;

namespace Broadcast.Control;

/// <summary>The configuration keys control reads, with the embedded defaults.</summary>
public sealed record ControlSettings
{
    public string DatabaseKind { get; init; } = "sqlite";

    public string DatabaseConnectionString { get; init; } = SqliteControlDatabase.DefaultConnectionString;

    /// <summary><c>Secrets:Key</c>: base64 of 32 bytes. When unset the key lives in <see cref="SecretKeyPath"/>.</summary>
    public string? SecretKey { get; init; }

    public string SecretKeyPath { get; init; } = "./data/secret.key";

    public string? AdminToken { get; init; }

    public string AdminTokenPath { get; init; } = "./data/admin-token";

    public int RtmpPort { get; init; } = 1935;

    public string? PublicRtmpBaseUrl { get; init; }

    public string? PublicHttpBaseUrl { get; init; }

    public static ControlSettings From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var defaults = new ControlSettings();
        var port = configuration["Rtmp:Port"];
        return new ControlSettings
        {
            DatabaseKind = NonEmpty(configuration["Database:Kind"]) ?? defaults.DatabaseKind,
            DatabaseConnectionString = NonEmpty(configuration["Database:ConnectionString"]) ?? defaults.DatabaseConnectionString,
            SecretKey = NonEmpty(configuration["Secrets:Key"]),
            SecretKeyPath = NonEmpty(configuration["Secrets:KeyPath"]) ?? defaults.SecretKeyPath,
            AdminToken = NonEmpty(configuration["Admin:Token"]),
            AdminTokenPath = NonEmpty(configuration["Admin:TokenPath"]) ?? defaults.AdminTokenPath,
            RtmpPort = port is null ? defaults.RtmpPort
                : int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is > 0 and <= 65535 ? p
                : throw new InvalidOperationException($"Rtmp:Port '{port}' is not a TCP port."),
            PublicRtmpBaseUrl = NonEmpty(configuration["Public:RtmpBaseUrl"]),
            PublicHttpBaseUrl = NonEmpty(configuration["Public:HttpBaseUrl"]),
        };
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
