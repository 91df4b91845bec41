using System.Globalization;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Storage;

/// <summary>
/// Debian's nginx running infra/nginx-edge.conf, rewritten only where the file marks a line "# test: ...":
/// loopback listen port, the origins under test as the upstream, no resolver, and pid/log/cache paths in a temp folder.
/// Every cache directive is the file's own.
/// </summary>
public sealed class EdgeNginx : IAsyncDisposable
{
    private readonly ExternalProcess _process;
    private readonly TempDirectory _dir;

    private EdgeNginx(ExternalProcess process, TempDirectory dir, int port)
    {
        _process = process;
        _dir = dir;
        Port = port;
        BaseUri = new Uri($"http://127.0.0.1:{port}/");
    }

    public int Port { get; }

    public Uri BaseUri { get; }

    public string AccessLog => _dir.Combine("access.log");

    public string LogTail(int lines = 40) => _process.Output.Tail(lines);

    /// <summary>The last lines of the access log: each request's cache status, upstream and timings.</summary>
    public string AccessLogTail(int lines) => string.Join(Environment.NewLine, File.ReadLines(AccessLog).TakeLast(lines));

    /// <summary>The edge's X-Cache-Status of a response ("HIT", "MISS", "EXPIRED", ...), "none" without the header.</summary>
    public static string CacheStatus(HttpResponseMessage response) =>
        response.Headers.TryGetValues("X-Cache-Status", out var values) ? values.First() : "none";

    public static string ConfigPath => Path.Combine(RepoPaths.Root, "infra", "nginx-edge.conf");

    /// <summary>infra/nginx-edge.conf with the marked lines replaced for <paramref name="dir"/> and the ports.</summary>
    /// <param name="audienceLogPort">The node's <c>Origin:EdgeLogPort</c> for the audience log; null: the edge logs no
    /// audience and marks nothing it forwards, so its origins count the requests they see.</param>
    public static string Adapt(string config, string dir, int listenPort, IReadOnlyList<int> originPorts, int? audienceLogPort = null)
    {
        var lines = config.Split('\n').ToList();
        var adapted = new List<string>(lines.Count + 8);
        foreach (var line in lines)
        {
            // A marker ends a directive line; comment lines (the file's header) are kept as they are.
            int marker = line.TrimStart().StartsWith('#') ? -1 : line.IndexOf("# test: ", StringComparison.Ordinal);
            if (marker < 0)
            {
                adapted.Add(line);
                if (line.TrimStart().StartsWith("http {", StringComparison.Ordinal))
                {
                    // Debian's compiled-in temp paths are under /var/lib/nginx; keep everything in the temp folder.
                    adapted.Add($"    client_body_temp_path {dir}/client_body;");
                    adapted.Add($"    proxy_temp_path {dir}/proxy;");
                    adapted.Add($"    fastcgi_temp_path {dir}/fastcgi;");
                    adapted.Add($"    uwsgi_temp_path {dir}/uwsgi;");
                    adapted.Add($"    scgi_temp_path {dir}/scgi;");
                }

                continue;
            }

            string what = line[(marker + "# test: ".Length)..].Split(' ', 2)[0];
            string indent = line[..(line.Length - line.TrimStart().Length)];
            if (what == "upstream")
            {
                // One server line per origin under test, in place of the name the file resolves.
                foreach (int port in originPorts)
                    adapted.Add(string.Create(CultureInfo.InvariantCulture, $"{indent}server 127.0.0.1:{port} max_fails=2 fail_timeout=5s;"));
                continue;
            }

            adapted.Add(what switch
            {
                "user" => "",
                "pid" => $"pid {dir}/nginx.pid;",
                "error_log" => $"error_log {dir}/error.log warn;",
                "access_log" => $"{indent}access_log {dir}/access.log edge;",
                "cache" => $"{indent}proxy_cache_path {dir}/cache levels=1:2 keys_zone=broadcast:64m",
                "resolver" => "", // the origins are loopback addresses here, nothing to resolve
                "auth-cache" => $"{indent}proxy_cache_path {dir}/auth-cache levels=1:2 keys_zone=playback_auth:8m",
                "listen" => string.Create(CultureInfo.InvariantCulture, $"{indent}listen 127.0.0.1:{listenPort};"),
                "audience-log" => audienceLogPort is { } logPort
                    ? line[..marker].TrimEnd().Replace("10.213.71.10:5140", string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{logPort}"), StringComparison.Ordinal)
                    : "",
                "audience-header" => audienceLogPort is null ? "" : line[..marker].TrimEnd(),
                _ => throw new InvalidOperationException($"unknown test marker '{what}' in {ConfigPath}"),
            });
        }

        return string.Join('\n', adapted);
    }

    public static Task<EdgeNginx> StartAsync(int originPort) => StartAsync([originPort]);

    /// <param name="originPorts">The origins behind the edge; they also answer its token checks.</param>
    /// <param name="listenPort">The edge's port when the test named it beforehand (a steering pathway); null: a free one.</param>
    /// <param name="audienceLogPort">Where the edge sends its audience log (a node's <c>Origin:EdgeLogPort</c>); null: none.</param>
    public static async Task<EdgeNginx> StartAsync(IReadOnlyList<int> originPorts, int? listenPort = null, int? audienceLogPort = null)
    {
        var dir = new TempDirectory("broadcast-edge");
        // Workers run as an unprivileged user when the master is root: they must be able to write the cache.
        foreach (var sub in new[] { "cache", "auth-cache", "client_body", "proxy", "fastcgi", "uwsgi", "scgi" })
        {
            var path = Directory.CreateDirectory(dir.Combine(sub)).FullName;
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, (UnixFileMode)0x1FF); // 0777
        }

        int port = listenPort ?? FreePort.Tcp();
        var conf = dir.Combine("nginx.conf");
        await File.WriteAllTextAsync(conf, Adapt(await File.ReadAllTextAsync(ConfigPath), dir.Path, port, originPorts, audienceLogPort));
        var test = await ExternalProcess.RunAsync("nginx", ["-t", "-p", dir.Path + "/", "-c", conf, "-e", "stderr"], TimeSpan.FromSeconds(30), workingDirectory: dir.Path);
        if (test.ExitCode != 0) throw new InvalidOperationException($"nginx -t rejected the adapted {ConfigPath}:{Environment.NewLine}{test.OutputTail}");

        var process = ExternalProcess.Start("nginx", ["-p", dir.Path + "/", "-c", conf, "-e", "stderr", "-g", "daemon off;"], workingDirectory: dir.Path);
        var edge = new EdgeNginx(process, dir, port);
        await WaitFor.ConditionAsync(async () =>
            {
                if (process.HasExited) throw new ConditionFailedException($"nginx exited with {process.ExitCode}:{Environment.NewLine}{process.Output.Tail(30)}");
                return await FreePort.IsListeningAsync(port);
            }, TimeSpan.FromSeconds(20), $"nginx edge on 127.0.0.1:{port}");
        return edge;
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        _dir.Dispose();
    }
}
