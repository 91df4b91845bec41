using System.Globalization;
using System.Xml.Linq;

namespace Broadcast.TestSupport;

/// <summary>
/// A throwaway nginx with libnginx-mod-rtmp: a reference RTMP server to prove our publishers against, a
/// restream target, and the peer in side-by-side benchmarks. Listens on loopback only; config, pid and temp
/// paths live in a private temp dir; logs go to stderr and into <see cref="Log"/>.
/// </summary>
public sealed class NginxRtmpServer : IAsyncDisposable
{
    public const string ModulePath = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

    private readonly TempDirectory _dir;
    private readonly ExternalProcess _process;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private NginxRtmpServer(TempDirectory dir, ExternalProcess process, int rtmpPort, int httpPort, string application)
    {
        _dir = dir;
        _process = process;
        RtmpPort = rtmpPort;
        HttpPort = httpPort;
        Application = application;
    }

    public int RtmpPort { get; }

    /// <summary>Port of the HTTP server that exposes rtmp_stat at /stat.</summary>
    public int HttpPort { get; }

    public string Application { get; }

    public LineRingBuffer Log => _process.Output;

    public string RtmpUrl(string streamKey) => $"rtmp://127.0.0.1:{RtmpPort}/{Application}/{streamKey}";

    public Uri StatUri => new($"http://127.0.0.1:{HttpPort}/stat");

    /// <summary>
    /// Writes the config and starts nginx in the foreground; returns once both ports accept connections.
    /// <paramref name="extraApplicationDirectives"/> go inside the application block (e.g. "push rtmp://...;").
    /// </summary>
    public static async Task<NginxRtmpServer> StartAsync(string application = "live", string extraApplicationDirectives = "", TimeSpan? timeout = null)
    {
        if (!File.Exists(ModulePath))
        {
            throw new FileNotFoundException("libnginx-mod-rtmp is not installed", ModulePath);
        }

        var dir = new TempDirectory("broadcast-nginx");
        var rtmpPort = FreePort.Tcp();
        var httpPort = FreePort.Tcp();
        var conf = dir.Combine("nginx.conf");
        await File.WriteAllTextAsync(conf, Config(dir.Path, rtmpPort, httpPort, application, extraApplicationDirectives)).ConfigureAwait(false);

        // -p sets the prefix so nothing falls back to /var/lib/nginx or /var/log/nginx.
        var process = ExternalProcess.Start("nginx", ["-p", dir.Path + "/", "-c", conf, "-e", "stderr", "-g", "daemon off;"], workingDirectory: dir.Path);
        var server = new NginxRtmpServer(dir, process, rtmpPort, httpPort, application);
        try
        {
            await WaitFor.ConditionAsync(
                async () =>
                {
                    if (process.HasExited)
                    {
                        throw new ConditionFailedException($"nginx exited with {process.ExitCode}:{Environment.NewLine}{process.Output.Tail(50)}");
                    }

                    return await FreePort.IsListeningAsync(rtmpPort).ConfigureAwait(false)
                        && await FreePort.IsListeningAsync(httpPort).ConfigureAwait(false);
                },
                timeout ?? TimeSpan.FromSeconds(20),
                $"nginx-rtmp listening on {rtmpPort}/{httpPort}",
                () => process.Output.Tail(50)).ConfigureAwait(false);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return server;
    }

    internal static string Config(string dir, int rtmpPort, int httpPort, string application, string extra) =>
        string.Create(CultureInfo.InvariantCulture, $$"""
        load_module {{ModulePath}};
        worker_processes 1;
        pid {{dir}}/nginx.pid;
        error_log stderr info;
        events { worker_connections 256; }
        rtmp {
            server {
                listen 127.0.0.1:{{rtmpPort}};
                chunk_size 4096;
                application {{application}} {
                    live on;
                    record off;
                    {{extra}}
                }
            }
        }
        http {
            access_log off;
            client_body_temp_path {{dir}}/client_body;
            proxy_temp_path {{dir}}/proxy;
            fastcgi_temp_path {{dir}}/fastcgi;
            uwsgi_temp_path {{dir}}/uwsgi;
            scgi_temp_path {{dir}}/scgi;
            server {
                listen 127.0.0.1:{{httpPort}};
                location /stat { rtmp_stat all; }
            }
        }
        """);

    /// <summary>The rtmp_stat XML document.</summary>
    public async Task<XDocument> GetStatAsync()
    {
        var xml = await _http.GetStringAsync(StatUri).ConfigureAwait(false);
        return XDocument.Parse(xml);
    }

    /// <summary>True when rtmp_stat lists <paramref name="streamKey"/> with a publisher attached.</summary>
    public async Task<bool> IsPublishingAsync(string streamKey)
    {
        var stat = await GetStatAsync().ConfigureAwait(false);
        return stat.Descendants("stream").Any(s =>
            (string?)s.Element("name") == streamKey && s.Descendants("publishing").Any());
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync().ConfigureAwait(false);
        _http.Dispose();
        _dir.Dispose();
    }
}
