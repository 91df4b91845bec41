using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Broadcast.Origin.Steering;

/// <summary>
/// Probes every pathway once per <see cref="SteeringOptions.ProbeIntervalMilliseconds"/>: a GET of
/// <see cref="SteeringOptions.ProbePath"/> through the pathway's base URL (through the CDN or edge, so a dead edge, a
/// broken route from it to the origins, or an edge answering errors all count), judged by status and time. All pathways
/// are probed at once, so one slow pathway does not delay the others' verdicts.
/// </summary>
public sealed class PathwayProber : BackgroundService
{
    private readonly SteeringPathways _pathways;
    private readonly SteeringOptions _options;
    private readonly ILogger<PathwayProber> _logger;
    private readonly HttpClient _http;

    public PathwayProber(SteeringPathways pathways, IOptions<SteeringOptions> options, ILogger<PathwayProber> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _pathways = pathways;
        _options = options.Value;
        _logger = logger;
        _http = new HttpClient(new SocketsHttpHandler
        {
            // A pathway's host may move (DNS of a CDN): connections are renewed, and a probe never rides a stale one long.
            PooledConnectionLifetime = TimeSpan.FromSeconds(30),
            ConnectTimeout = TimeSpan.FromMilliseconds(_options.ProbeTimeoutMilliseconds),
            AllowAutoRedirect = false,
        })
        {
            Timeout = TimeSpan.FromMilliseconds(_options.ProbeTimeoutMilliseconds),
        };
        _pathways.HealthChanged += OnHealthChanged;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var targets = _pathways.Manifest.Select(p => new Uri(p.BaseUrl.TrimEnd('/') + _options.ProbePath)).ToArray();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(_options.ProbeIntervalMilliseconds));
        do
        {
            await Task.WhenAll(targets.Select((target, index) => ProbeAsync(index, target, stoppingToken))).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private async Task ProbeAsync(int index, Uri target, CancellationToken stoppingToken)
    {
        long start = Stopwatch.GetTimestamp();
        int status = 0;
        bool ok = false;
        try
        {
            using HttpResponseMessage response = await _http.GetAsync(target, HttpCompletionOption.ResponseContentRead, stoppingToken).ConfigureAwait(false);
            status = (int)response.StatusCode;
            ok = response.IsSuccessStatusCode;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            // Refused, reset or timed out: status 0.
        }

        _pathways.ReportProbe(index, ok, status, (long)Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }

    private void OnHealthChanged(string pathway, bool healthy)
    {
        if (healthy)
        {
            OriginLog.PathwayHealthy(_logger, pathway);
            return;
        }

        PathwayStatus? status = _pathways.Statuses().FirstOrDefault(s => s.Id == pathway);
        OriginLog.PathwayUnhealthy(_logger, pathway, status?.ConsecutiveFailures ?? 0,
            status is null || status.LastStatus == 0 ? "no answer" : "HTTP " + status.LastStatus);
    }

    public override void Dispose()
    {
        _pathways.HealthChanged -= OnHealthChanged;
        _http.Dispose();
        base.Dispose();
    }
}
