using System.Net;
using Broadcast.Ingest.Rtmp;
using Broadcast.Media;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Broadcast.Ingest.Rtmps;

/// <summary>
/// The RTMPS ingest listener: an <see cref="RtmpServer"/> on <see cref="RtmpsOptions.Port"/> whose connections run
/// inside TLS. Same publish flow, stream keys, <see cref="IPublishAuthorizer"/>, limits and connection list as RTMP.
/// The certificate is loaded at start (a bad file stops the start with an error naming the key and path) and
/// reloaded when its files change.
/// </summary>
public sealed class RtmpsServer : IHostedService, IAsyncDisposable
{
    private readonly RtmpServer _server;
    private readonly ILogger _logger;

    public RtmpsServer(IOptions<RtmpsOptions> tls, IOptionsMonitor<RtmpOptions> rtmp, LiveStreamRegistry registry, IPublishAuthorizer authorizer,
        IRtmpConnections connections, ILogger<RtmpsServer> logger, ILogger<RtmpServer> rtmpLogger, TimeProvider? time = null,
        IOptions<IngestOptions>? ingest = null, RtmpMemoryBudget? memory = null)
    {
        // The RTMP section bound again under this name, with the RTMPS port and address (see AddRtmpIngest).
        var options = rtmp.Get(RtmpsOptions.SectionName);
        _logger = logger;
        Certificates = new RtmpsCertificateSource(tls.Value, logger);
        // Same reconnect grace as RTMP: an encoder that drops off TLS and returns continues its broadcast.
        _server = new RtmpServer(Options.Create(options), registry, authorizer, connections, rtmpLogger, time, ingest, memory)
        {
            Transport = new TlsTransport(Certificates, TimeSpan.FromSeconds(options.HandshakeTimeoutSeconds), logger),
        };
    }

    public RtmpsCertificateSource Certificates { get; }

    /// <summary>The bound endpoint once started; null before.</summary>
    public IPEndPoint? LocalEndPoint => _server.LocalEndPoint;

    /// <summary>Completes with the bound endpoint when the server is listening.</summary>
    public Task<IPEndPoint> Listening => _server.Listening;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var certificate = Certificates.Load();
        await _server.StartAsync(cancellationToken).ConfigureAwait(false);
        RtmpLog.RtmpsListening(_logger, _server.LocalEndPoint!.ToString(), certificate.Subject, certificate.Leaf.NotAfter.ToUniversalTime());
    }

    public Task StopAsync(CancellationToken cancellationToken) => _server.StopAsync(cancellationToken);

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
