using System.Data.Common;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Broadcast.TestSupport;

/// <summary>
/// A real PostgreSQL for tests. When <c>BROADCAST_TEST_PG</c> holds a connection string (./test.sh starts
/// a cluster and sets it) that server is used; otherwise a throwaway Debian PostgreSQL 15 cluster is
/// initialised under /tmp, started on a free loopback port and removed on dispose. Each caller gets its
/// own fresh database from <see cref="CreateDatabase"/>, so tests never see each other's rows.
/// Databases are created with the psql client, so this helper needs no ADO.NET provider.
/// Use it as an xunit collection fixture (one cluster per test run of a collection).
/// </summary>
public sealed class PostgresTestCluster : IDisposable
{
    public const string EnvironmentVariable = "BROADCAST_TEST_PG";
    private const string BinDirectory = "/usr/lib/postgresql/15/bin";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(3);

    private readonly string? _clusterDirectory;
    private readonly DbConnectionStringBuilder _server;

    public PostgresTestCluster()
        : this(ownCluster: false)
    {
    }

    /// <summary>
    /// Always a throwaway cluster of this instance, even when <c>BROADCAST_TEST_PG</c> is set, for tests that stop and
    /// restart the server (<see cref="Stop"/>, <see cref="Start"/>). A factory, not a constructor: xunit requires a
    /// collection fixture to have a single public constructor.
    /// </summary>
    public static PostgresTestCluster StartOwn() => new(ownCluster: true);

    private PostgresTestCluster(bool ownCluster)
    {
        var external = ownCluster ? null : Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(external))
        {
            _server = new DbConnectionStringBuilder { ConnectionString = external };
            IsExternal = true;
            return;
        }

        _clusterDirectory = Path.Combine(Path.GetTempPath(), "broadcast-pg-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)));
        var data = Path.Combine(_clusterDirectory, "data");
        var sockets = Path.Combine(_clusterDirectory, "sock");
        Directory.CreateDirectory(data);
        Directory.CreateDirectory(sockets);
        try
        {
            Run("chown", ["-R", "postgres:postgres", _clusterDirectory]);
            RunAsPostgres("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);

            // A free port can be taken between probing and binding; try a few.
            for (var attempt = 1; ; attempt++)
            {
                var port = FreeTcpPort();
                try
                {
                    StartOn(port);
                    Port = port;
                    break;
                }
                catch (InvalidOperationException) when (attempt < 3)
                {
                }
            }

            _server = new DbConnectionStringBuilder
            {
                ["Host"] = "127.0.0.1",
                ["Port"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Username"] = "postgres",
                ["Database"] = "postgres",
            };
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>True when the server came from <c>BROADCAST_TEST_PG</c> and is not ours to stop.</summary>
    public bool IsExternal { get; }

    public int Port { get; }

    /// <summary>Stops this instance's own cluster (fast shutdown: open sessions are disconnected), as an outage would.</summary>
    public void Stop()
    {
        var data = OwnDataDirectory();
        RunAsPostgres("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "120", "stop"]);
    }

    /// <summary>Starts this instance's own cluster again on the same port.</summary>
    public void Start() => StartOn(Port);

    private void StartOn(int port)
    {
        var data = OwnDataDirectory();
        RunAsPostgres("pg_ctl", ["-D", data, "-l", Path.Combine(_clusterDirectory!, "server.log"), "-w", "-t", "120",
            "-o", $"-p {port} -k {Path.Combine(_clusterDirectory!, "sock")} -c listen_addresses=127.0.0.1 -c fsync=off", "start"]);
    }

    private string OwnDataDirectory() => _clusterDirectory is null
        ? throw new InvalidOperationException($"The cluster comes from {EnvironmentVariable} and is not this test's to stop or start.")
        : Path.Combine(_clusterDirectory, "data");

    /// <summary>Creates an empty database and returns a connection string (Npgsql keywords) for it.</summary>
    public string CreateDatabase(string prefix = "test")
    {
        var clean = new string(prefix.ToLowerInvariant().Where(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_').ToArray());
        var name = $"{(clean.Length == 0 ? "test" : clean[..Math.Min(clean.Length, 40)])}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";
        Psql($"CREATE DATABASE \"{name}\"");
        var builder = new DbConnectionStringBuilder { ConnectionString = _server.ConnectionString };
        builder["Database"] = name;
        return builder.ConnectionString;
    }

    /// <summary>Runs one SQL statement in the maintenance database (or <paramref name="database"/>) and returns psql's unaligned output.</summary>
    public string Psql(string sql, string? database = null)
    {
        var args = new List<string> { "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1" };
        args.AddRange(["-h", Value("Host", "Server") ?? "127.0.0.1"]);
        args.AddRange(["-p", Value("Port") ?? "5432"]);
        args.AddRange(["-U", Value("Username", "User ID", "User", "UserName") ?? "postgres"]);
        args.AddRange(["-d", database ?? Value("Database") ?? "postgres"]);
        args.AddRange(["-c", sql]);
        var environment = new Dictionary<string, string>();
        if (Value("Password") is { } password)
        {
            environment["PGPASSWORD"] = password;
        }

        return Run(Path.Combine(BinDirectory, "psql"), args, environment);
    }

    public void Dispose()
    {
        if (_clusterDirectory is null)
        {
            return;
        }

        try
        {
            if (Port != 0)
            {
                RunAsPostgres("pg_ctl", ["-D", Path.Combine(_clusterDirectory, "data"), "-m", "immediate", "-w", "stop"]);
            }
        }
        catch (InvalidOperationException)
        {
            // Already stopped; still remove the files.
        }

        try
        {
            Directory.Delete(_clusterDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private string? Value(params string[] keys)
    {
        foreach (var key in keys)
        {
            if (_server.TryGetValue(key, out var value) && value?.ToString() is { Length: > 0 } s)
            {
                return s;
            }
        }

        return null;
    }

    private static void RunAsPostgres(string tool, IEnumerable<string> args)
        => Run("runuser", ["-u", "postgres", "--", Path.Combine(BinDirectory, tool), .. args]);

    private static string Run(string fileName, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // runuser'd processes must be able to stat their working directory.
            WorkingDirectory = "/tmp",
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                start.Environment[key] = value;
            }
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(CommandTimeout))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{fileName} {string.Join(' ', start.ArgumentList)} timed out.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{fileName} {string.Join(' ', start.ArgumentList)} exited with {process.ExitCode}: {stderr.Result}{stdout.Result}");
        }

        return stdout.Result;
    }

    private static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
