using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Broadcast.TestSupport;

/// <summary>
/// A throwaway coturn (Debian's <c>coturn</c>, the TURN server the production compose file runs) listening on 127.0.0.1, UDP
/// and TCP on one port, checking TURN REST API credentials against a secret made for this run (<c>use-auth-secret</c>), as
/// production does. It relays from this machine's own (first IPv4, not loopback) interface address, because that is
/// where Janus's host candidates are (Janus leaves loopback out of ICE): relayed media never leaves this machine. No TLS or
/// database; its log goes into <see cref="Log"/>. <see cref="CoturnSettings"/> adds a per-user quota, the admin CLI on
/// 127.0.0.1 with a password of this run's, and relaying on loopback to loopback peers (for <c>turnutils_uclient</c>).
/// </summary>
public sealed class CoturnServer : IAsyncDisposable
{
    private readonly ExternalProcess _process;
    private readonly TempDirectory _dir;

    private CoturnServer(ExternalProcess process, TempDirectory dir, int port, string secret, int? cliPort, string? cliPassword)
    {
        _process = process;
        _dir = dir;
        Port = port;
        Secret = secret;
        CliPort = cliPort;
        CliPassword = cliPassword;
    }

    /// <summary>The admin CLI's port on 127.0.0.1, with <see cref="CoturnSettings.AdminCli"/>.</summary>
    public int? CliPort { get; }

    /// <summary>The admin CLI's password (<c>--cli-password</c>), with <see cref="CoturnSettings.AdminCli"/>.</summary>
    public string? CliPassword { get; }

    public int Port { get; }

    /// <summary>The shared secret the server's <c>Turn:Secret</c> must be.</summary>
    public string Secret { get; }

    public LineRingBuffer Log => _process.Output;

    /// <summary><c>turn:127.0.0.1:PORT?transport=udp</c> or <c>…=tcp</c>.</summary>
    public string Url(string transport) => string.Create(CultureInfo.InvariantCulture, $"turn:127.0.0.1:{Port}?transport={transport}");

    /// <summary>The server switches that hand out this TURN server over UDP and TCP.</summary>
    public IReadOnlyList<string> ServerArguments() => [$"--Turn:Urls:0={Url("udp")}", $"--Turn:Urls:1={Url("tcp")}", $"--Turn:Secret={Secret}"];

    public static async Task<CoturnServer> StartAsync(TimeSpan? timeout = null, CoturnSettings? settings = null)
    {
        settings ??= new CoturnSettings();
        var relay = settings.RelayOnLoopback ? IPAddress.Loopback : NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.OperationalStatus == OperationalStatus.Up && i.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            ?? throw new InvalidOperationException("no IPv4 interface address besides loopback: Janus would have no host candidate either");
        var dir = new TempDirectory("broadcast-coturn");
        int port = FreePort.TcpAndUdp();
        string secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
        int? cliPort = settings.AdminCli ? FreePort.Tcp() : null;
        string? cliPassword = settings.AdminCli ? Convert.ToHexString(RandomNumberGenerator.GetBytes(12)).ToLowerInvariant() : null;
        List<string> extra = cliPort is { } cli
            ? ["--cli-ip=127.0.0.1", string.Create(CultureInfo.InvariantCulture, $"--cli-port={cli}"), $"--cli-password={cliPassword}"]
            : ["--no-cli"];
        if (settings.UserQuota is { } quota) extra.Add(string.Create(CultureInfo.InvariantCulture, $"--user-quota={quota}"));
        if (settings.RelayOnLoopback) extra.Add("--allow-loopback-peers");
        var process = ExternalProcess.Start("turnserver",
        [
            "-n", // no configuration file: everything is on this line
            "-v", // moderate verbosity: each session, its username and its ALLOCATE result
            "--listening-ip=127.0.0.1", $"--relay-ip={relay}", string.Create(CultureInfo.InvariantCulture, $"--listening-port={port}"),
            "--min-port=50000", "--max-port=50999",
            "--use-auth-secret", $"--static-auth-secret={secret}", "--realm=broadcast.test",
            "--no-tls", "--no-dtls", "--no-software-attribute",
            $"--pidfile={dir.Combine("turnserver.pid")}", $"--userdb={dir.Combine("turndb")}", "--log-file=stdout", "--simple-log",
            .. extra,
        ], workingDirectory: dir.Path, tailLines: 2000);
        var server = new CoturnServer(process, dir, port, secret, cliPort, cliPassword);
        try
        {
            await WaitFor.ConditionAsync(
                async () =>
                {
                    if (process.HasExited) throw new ConditionFailedException($"turnserver exited with {process.ExitCode}:{Environment.NewLine}{process.Output.Tail(50)}");
                    return await FreePort.IsListeningAsync(port).ConfigureAwait(false)
                        && (cliPort is not { } cli || await FreePort.IsListeningAsync(cli).ConfigureAwait(false));
                },
                timeout ?? TimeSpan.FromSeconds(20), $"coturn listening on 127.0.0.1:{port}", () => process.Output.Tail(50)).ConfigureAwait(false);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync().ConfigureAwait(false);
        _dir.Dispose();
    }
}

/// <summary>What a test's coturn adds to the production-like defaults of <see cref="CoturnServer"/>.</summary>
public sealed record CoturnSettings
{
    /// <summary><c>--user-quota</c>: allocations one user (a REST username's part after the expiry) may hold at once.</summary>
    public int? UserQuota { get; init; }

    /// <summary>The admin CLI on 127.0.0.1 on a free port, with a password (<see cref="CoturnServer.CliPort"/>).</summary>
    public bool AdminCli { get; init; }

    /// <summary>Relay on 127.0.0.1 and allow loopback peers, for a TURN client on this machine (<c>turnutils_uclient</c>).</summary>
    public bool RelayOnLoopback { get; init; }
}
