using System.Diagnostics;
using Broadcast.Storage;
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

    private readonly ISegmentStore _store;

    public PathwayProber(SteeringPathways pathways, IOptions<SteeringOptions> options, ILogger<PathwayProber> logger, ISegmentStore store)
    {
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
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
        var targets = _pathways.Manifest.Select(p => new Uri(p.BaseUrl + _options.ProbePath)).ToArray();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(_options.ProbeIntervalMilliseconds));
        do
        {
            // The truth the pathways are held to: the newest segments the store lists for the probe channel (null: not live).
            IReadOnlyList<string>? newest = _options.ProbeChannel.Length == 0 ? null : await NewestInStoreAsync(stoppingToken).ConfigureAwait(false);
            await Task.WhenAll(targets.Select((target, index) => ProbeAsync(index, target, newest, stoppingToken))).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private async Task<IReadOnlyList<string>?> NewestInStoreAsync(CancellationToken cancellationToken)
    {
        try
        {
            StoredObject? playlist = await _store.GetAsync(StoreKeys.MediaPlaylist(_options.ProbeChannel, StoreKeys.SourceRendition),
                cancellationToken).ConfigureAwait(false);
            if (playlist is null) return null;
            var segments = SegmentLines(System.Text.Encoding.UTF8.GetString(playlist.Data.Span));
            return segments.Count == 0 ? null : segments.TakeLast(_options.ProbeFreshSegments).ToArray();
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return null; // the store's own faults are reported where it is read for viewers
        }
    }

    /// <summary>The segment URIs of a media playlist, in order (every line that is neither a tag nor blank).</summary>
    internal static List<string> SegmentLines(string playlist) =>
        playlist.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();

    private async Task ProbeAsync(int index, Uri target, IReadOnlyList<string>? newest, CancellationToken stoppingToken)
    {
        long start = Stopwatch.GetTimestamp();
        int status = 0;
        bool ok = false;
        try
        {
            using HttpResponseMessage response = await _http.GetAsync(target, HttpCompletionOption.ResponseContentRead,
                stoppingToken).ConfigureAwait(false);
            status = (int)response.StatusCode;
            ok = response.IsSuccessStatusCode;
            if (ok && newest is not null) (ok, status) = await ProbeNewestSegmentAsync(index, newest, stoppingToken).ConfigureAwait(false);
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

    /// <summary>
    /// The probe channel's source playlist and newest segment through the pathway: both must answer, and that segment must
    /// be among the store's newest (else the pathway serves a frozen playlist: <see cref="StalePlaylistStatus"/>).
    /// </summary>
    private async Task<(bool Ok, int Status)> ProbeNewestSegmentAsync(int index, IReadOnlyList<string> newest, CancellationToken cancellationToken)
    {
        string folder = _pathways.Manifest[index].BaseUrl + "/live/" + _options.ProbeChannel + "/" + StoreKeys.SourceRendition + "/";
        using HttpResponseMessage playlist = await _http.GetAsync(new Uri(folder + "index.m3u8"), cancellationToken).ConfigureAwait(false);
        if (!playlist.IsSuccessStatusCode) return (false, (int)playlist.StatusCode);
        var listed = SegmentLines(await playlist.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        if (listed.Count == 0 || !newest.Contains(listed[^1])) return (false, StalePlaylistStatus);
        // HEAD: whether the edge has it (an edge answers it from its cache, or asks an origin), without its bytes.
        using var head = new HttpRequestMessage(HttpMethod.Head, new Uri(new Uri(folder), listed[^1]));
        using HttpResponseMessage segment = await _http.SendAsync(head, cancellationToken).ConfigureAwait(false);
        return (segment.IsSuccessStatusCode, (int)segment.StatusCode);
    }

    /// <summary>The status a probe reports when the pathway answered with a playlist older than the store's newest segments.</summary>
    public const int StalePlaylistStatus = -1;

    /// <summary>A probe's last status in words: "HTTP 502", "no answer" (0) or "a stale playlist" (<see cref="StalePlaylistStatus"/>).</summary>
    public static string Describe(int status) => status switch
    {
        0 => "no answer",
        StalePlaylistStatus => "a stale playlist",
        _ => "HTTP " + status.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private void OnHealthChanged(string pathway, bool healthy)
    {
        if (healthy)
        {
            OriginLog.PathwayHealthy(_logger, pathway);
            return;
        }

        PathwayStatus? status = _pathways.Statuses().FirstOrDefault(s => s.Id == pathway);
        OriginLog.PathwayUnhealthy(_logger, pathway, status?.ConsecutiveFailures ?? 0, Describe(status?.LastStatus ?? 0));
    }

    public override void Dispose()
    {
        _pathways.HealthChanged -= OnHealthChanged;
        _http.Dispose();
        base.Dispose();
    }
}
