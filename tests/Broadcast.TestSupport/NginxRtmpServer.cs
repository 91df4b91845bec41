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

    private NginxRtmpServer(TempDirectory dir, ExternalProcess process, int rtmpPort, int httpPort, string application, int? tlsPort = null)
    {
        _dir = dir;
        _process = process;
        RtmpPort = rtmpPort;
        HttpPort = httpPort;
        Application = application;
        TlsPort = tlsPort;
    }

    public const string StreamModulePath = "/usr/lib/nginx/modules/ngx_stream_module.so";

    /// <summary>Port of the TLS front (nginx <c>stream</c> with <c>ssl</c>, proxying to the RTMP port), when started with one.</summary>
    public int? TlsPort { get; }

    /// <summary>The rtmps:// URL through the TLS front.</summary>
    public string RtmpsUrl(string streamKey) => $"rtmps://127.0.0.1:{TlsPort ?? throw new InvalidOperationException("No TLS front.")}/{Application}/{streamKey}";

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
    public static Task<NginxRtmpServer> StartAsync(string application = "live", string extraApplicationDirectives = "", TimeSpan? timeout = null) =>
        StartAsync(new NginxRtmpServerOptions { Application = application, ExtraApplicationDirectives = extraApplicationDirectives, Timeout = timeout });

    /// <summary>
    /// Starts nginx as <paramref name="options"/> say: fixed ports (to restart a server where it was) and an optional
    /// TLS front (libnginx-mod-stream) that terminates TLS with the given PEM certificate and proxies to the RTMP port.
    /// </summary>
    public static async Task<NginxRtmpServer> StartAsync(NginxRtmpServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!File.Exists(ModulePath))
        {
            throw new FileNotFoundException("libnginx-mod-rtmp is not installed", ModulePath);
        }

        bool tls = options.TlsCertificatePath is not null;
        if (tls && !File.Exists(StreamModulePath))
        {
            throw new FileNotFoundException("libnginx-mod-stream is not installed", StreamModulePath);
        }

        var application = options.Application;
        var dir = new TempDirectory("broadcast-nginx");
        var rtmpPort = options.RtmpPort ?? FreePort.Tcp();
        var httpPort = options.HttpPort ?? FreePort.Tcp();
        int? tlsPort = tls ? options.TlsPort ?? FreePort.Tcp() : null;
        var conf = dir.Combine("nginx.conf");
        var stream = tls
            ? string.Create(CultureInfo.InvariantCulture, $$"""
                stream {
                    server {
                        listen 127.0.0.1:{{tlsPort}} ssl;
                        ssl_certificate {{options.TlsCertificatePath}};
                        ssl_certificate_key {{options.TlsKeyPath}};
                        proxy_pass 127.0.0.1:{{rtmpPort}};
                    }
                }
                """)
            : "";
        await File.WriteAllTextAsync(conf, Config(dir.Path, rtmpPort, httpPort, application, options.ExtraApplicationDirectives, stream)).ConfigureAwait(false);

        // -p sets the prefix so nothing falls back to /var/lib/nginx or /var/log/nginx.
        var process = ExternalProcess.Start("nginx", ["-p", dir.Path + "/", "-c", conf, "-e", "stderr", "-g", "daemon off;"], workingDirectory: dir.Path);
        var server = new NginxRtmpServer(dir, process, rtmpPort, httpPort, application, tlsPort);
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
                        && await FreePort.IsListeningAsync(httpPort).ConfigureAwait(false)
                        && (tlsPort is not { } t || await FreePort.IsListeningAsync(t).ConfigureAwait(false));
                },
                options.Timeout ?? TimeSpan.FromSeconds(20),
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

    /// <summary>The options this server was started with, its ports fixed: to start it again in the same place.</summary>
    public NginxRtmpServerOptions SamePlace(NginxRtmpServerOptions options) =>
        options with { RtmpPort = RtmpPort, HttpPort = HttpPort, TlsPort = TlsPort };

    internal static string Config(string dir, int rtmpPort, int httpPort, string application, string extra, string streamBlock = "") =>
        string.Create(CultureInfo.InvariantCulture, $$"""
        load_module {{ModulePath}};
        {{(streamBlock.Length > 0 ? $"load_module {StreamModulePath};" : "")}}
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
        {{streamBlock}}
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

/// <summary>How to start a <see cref="NginxRtmpServer"/>.</summary>
public sealed record NginxRtmpServerOptions
{
    public string Application { get; init; } = "live";

    /// <summary>Directives inside the application block (e.g. "push rtmp://...;").</summary>
    public string ExtraApplicationDirectives { get; init; } = "";

    /// <summary>Fixed ports; free ones when null.</summary>
    public int? RtmpPort { get; init; }

    public int? HttpPort { get; init; }

    public int? TlsPort { get; init; }

    /// <summary>PEM certificate and key for a TLS front on <see cref="TlsPort"/>; none when null.</summary>
    public string? TlsCertificatePath { get; init; }

    public string? TlsKeyPath { get; init; }

    public TimeSpan? Timeout { get; init; }
}
