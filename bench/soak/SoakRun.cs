using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Broadcast.TestSupport;

namespace Broadcast.Soak;

/// <summary>One sample of the server process: resident memory and open file descriptors.</summary>
public sealed record ResourceSample(TimeSpan At, long RssKb, int OpenFds, int PublishersOnline, long GcHeapBytes);

/// <summary>The outcome of a soak run: the numbers, and each check with its verdict.</summary>
public sealed record SoakReport(
    SoakOptions Options,
    TimeSpan Elapsed,
    IReadOnlyList<ResourceSample> Samples,
    double RssBaselineMb,
    double RssFinalMb,
    double OpenFdsBaseline,
    double OpenFdsFinal,
    double GcHeapBaselineMb,
    double GcHeapFinalMb,
    long Publishes,
    long PlaylistFetches,
    long SegmentFetches,
    long FailedFetches,
    int Gaps,
    int Discontinuities,
    int NewBroadcasts,
    IReadOnlyList<string> GapDescriptions,
    IReadOnlyList<string> ErrorExamples,
    bool ServerAlive,
    IReadOnlyList<(string Check, bool Passed, string Detail)> Checks)
{
    public bool Passed => Checks.All(c => c.Passed);

    public double RssGrowth => RssBaselineMb <= 0 ? 0 : (RssFinalMb - RssBaselineMb) / RssBaselineMb;

    public double ErrorRate => PlaylistFetches + SegmentFetches == 0 ? 1 : (double)FailedFetches / (PlaylistFetches + SegmentFetches);

    public string Summary()
    {
        var s = new StringBuilder();
        s.AppendLine(CultureInfo.InvariantCulture, $"soak: {Options.Describe()}; ran {Elapsed.TotalMinutes:0.0} min");
        s.AppendLine(CultureInfo.InvariantCulture, $"  publishes {Publishes}, playlist fetches {PlaylistFetches}, segment fetches {SegmentFetches}, failed {FailedFetches} ({ErrorRate:P3})");
        s.AppendLine(CultureInfo.InvariantCulture, $"  RSS {RssBaselineMb:0.0} MB -> {RssFinalMb:0.0} MB ({RssGrowth:+0.0%;-0.0%}), managed heap after GC {GcHeapBaselineMb:0.0} MB -> {GcHeapFinalMb:0.0} MB, lowest open fds {OpenFdsBaseline:0} -> {OpenFdsFinal:0}");
        s.AppendLine(CultureInfo.InvariantCulture, $"  gaps {Gaps}, marked discontinuities {Discontinuities}, new broadcasts {NewBroadcasts}");
        foreach (var (check, passed, detail) in Checks) s.AppendLine(CultureInfo.InvariantCulture, $"  [{(passed ? "ok" : "FAIL")}] {check}: {detail}");
        foreach (var g in GapDescriptions.Take(5)) s.AppendLine("  gap: " + g);
        foreach (var e in ErrorExamples.Take(5)) s.AppendLine("  error: " + e);
        return s.ToString();
    }

    /// <summary>A RESULTS.md section.</summary>
    public string Markdown(string command, string when)
    {
        var s = new StringBuilder();
        s.AppendLine(CultureInfo.InvariantCulture, $"## soak: {Options.Publishers} reconnecting publishers, {Options.Clients} HLS clients, {Options.Duration.TotalMinutes:0.#} min — {when}");
        s.AppendLine();
        s.AppendLine($"Command: `{command}`");
        s.AppendLine();
        s.AppendLine("| check | result | detail |");
        s.AppendLine("|---|---|---|");
        foreach (var (check, passed, detail) in Checks) s.AppendLine($"| {check} | {(passed ? "ok" : "**FAIL**")} | {detail} |");
        s.AppendLine();
        s.AppendLine(CultureInfo.InvariantCulture,
            $"{Options.Describe()}. Passthrough (`--Transcode:Enabled=false`): 10 ladders do not fit on 2 cores, and the soak is about the ingest, packager, store and origin holding up, not the encoder. " +
            $"Managed heap after GC (server /metrics) {GcHeapBaselineMb:0.0} MB -> {GcHeapFinalMb:0.0} MB in the same windows. Publishes {Publishes}, playlist fetches {PlaylistFetches}, segment fetches {SegmentFetches}, failed {FailedFetches}; marked discontinuities {Discontinuities}, new broadcasts {NewBroadcasts}; {Samples.Count} samples every {Options.SampleInterval.TotalSeconds:0} s.");
        s.AppendLine();
        return s.ToString();
    }
}

/// <summary>
/// The soak: a server (passthrough), N publishers (ffmpeg, lavfi test source in real time) that drop and come back at
/// random, M lightweight HLS clients (media playlist + new segments, at the pace a player polls), and a sampler of the
/// server's RSS and open descriptors. Used by bench/soak.sh (30 min) and by the 3-minute end-to-end test.
/// </summary>
public static class SoakRun
{
    public static async Task<SoakReport> RunAsync(SoakOptions options, Action<string> log, CancellationToken cancellationToken = default)
    {
        await using var server = await ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments = ["--Transcode:Enabled=false", .. options.ServerArguments],
            Environment = options.ServerEnvironment,
            ShippedJit = true, // the soak measures the server's RSS as shipped
        }).ConfigureAwait(false);
        log($"server pid {server.ProcessId} on {server.BaseUri}; {options.Describe()}");
        var channels = new List<ChannelInfo>();
        for (int i = 0; i < options.Publishers; i++)
            channels.Add(await server.Api.CreateChannelAsync($"soak {i} {Guid.NewGuid():N}").ConfigureAwait(false));

        using var end = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var clock = Stopwatch.StartNew();
        var counters = new Counters();
        var trackers = new ConcurrentBag<SequenceTracker>();
        var samples = new List<ResourceSample>();
        int online = 0;
        var random = new Random(options.Seed);
        var publisherTasks = channels.Select((c, i) => PublishLoopAsync(server, c, new Random(random.Next()), options, counters, () => Interlocked.Increment(ref online), () => Interlocked.Decrement(ref online), end.Token)).ToList();

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) })
        {
            BaseAddress = server.BaseUri,
            Timeout = TimeSpan.FromSeconds(10),
        };
        var clientTasks = Enumerable.Range(0, options.Clients).Select(i =>
        {
            var tracker = new SequenceTracker();
            trackers.Add(tracker);
            return ClientLoopAsync(http, channels[i % channels.Count].Slug, tracker, new Random(random.Next()), counters, end.Token);
        }).ToList();

        // Sampling until the duration is over (or the server dies).
        while (clock.Elapsed < options.Duration && !server.HasExited)
        {
            if (TrySample(server.ProcessId, out long rss, out int fds))
                samples.Add(new ResourceSample(clock.Elapsed, rss, fds, Volatile.Read(ref online), await GcHeapAsync(server, cancellationToken).ConfigureAwait(false)));
            if (samples.Count % 20 == 1 && samples.Count > 0)
                log(string.Create(CultureInfo.InvariantCulture, $"{clock.Elapsed:mm\\:ss} RSS {samples[^1].RssKb / 1024.0:0.0} MB, GC heap {samples[^1].GcHeapBytes / 1048576.0:0.0} MB, fds {samples[^1].OpenFds}, online {samples[^1].PublishersOnline}/{options.Publishers}, fetches {counters.Playlists + counters.Segments}, failed {counters.Failed}"));
            try { await Task.Delay(options.SampleInterval, cancellationToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
        }

        bool alive = !server.HasExited;
        await end.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(publisherTasks.Concat(clientTasks)).ConfigureAwait(false);
        var elapsed = clock.Elapsed;

        var first = samples.Where(s => s.At >= options.WarmUp && s.At < options.WarmUp + options.CompareWindow).ToList();
        var last = samples.Where(s => s.At >= elapsed - options.CompareWindow).ToList();
        double rss0 = first.Count == 0 ? 0 : first.Average(s => s.RssKb) / 1024.0;
        double rss1 = last.Count == 0 ? 0 : last.Average(s => s.RssKb) / 1024.0;
        // Each window's lowest fd count, established inbound connections left out (TrySample): a leaked descriptor stays
        // open and raises it, while files opened for a fetch in flight only move the average. A
        // publisher online holds descriptors of its own (its RTMP socket, and with the ladder its ffmpeg's pipes and rung
        // sockets: 5-6 here), so the windows are compared at the same number of publishers online where they share one:
        // the smallest rise over those counts, which a leak raises at every count. Otherwise, the lowest of each window.
        var (fd0, fd1, matched) = LowestOpenFds(first, last);
        double heap0 = first.Where(s => s.GcHeapBytes >= 0).Select(s => s.GcHeapBytes / 1048576.0).DefaultIfEmpty(-1).Average();
        double heap1 = last.Where(s => s.GcHeapBytes >= 0).Select(s => s.GcHeapBytes / 1048576.0).DefaultIfEmpty(-1).Average();
        int gaps = trackers.Sum(t => t.Gaps);
        var gapList = trackers.SelectMany(t => t.GapDescriptions).Take(20).ToList();
        long fetches = counters.Playlists + counters.Segments;
        double errorRate = fetches == 0 ? 1 : (double)counters.Failed / fetches;
        double growth = rss0 <= 0 ? double.NaN : (rss1 - rss0) / rss0;
        var checks = new List<(string, bool, string)>
        {
            ("server alive", alive, alive ? "ran to the end" : "exited during the run"),
            ("RSS growth after warm-up", first.Count > 0 && last.Count > 0 && growth < options.MaxRssGrowth,
                string.Create(CultureInfo.InvariantCulture, $"{rss0:0.0} MB -> {rss1:0.0} MB ({growth:+0.0%;-0.0%}); limit {options.MaxRssGrowth:+0%}")),
            ("open fds", first.Count > 0 && last.Count > 0 && fd1 - fd0 <= (matched is null ? options.FdAllowance : SoakOptions.FdNoise),
                matched is int sharedOnline
                    ? string.Create(CultureInfo.InvariantCulture, $"lowest {fd0:0} -> {fd1:0} with {sharedOnline} publisher(s) online in both windows, established inbound connections left out; allowance +{SoakOptions.FdNoise}")
                    : string.Create(CultureInfo.InvariantCulture, $"lowest {fd0:0} -> {fd1:0}, established inbound connections left out; allowance +{options.FdAllowance} (a publisher's own descriptors, plus {SoakOptions.FdNoise})")),
            ("media sequences", gaps == 0, $"{gaps} gaps; {trackers.Sum(t => t.Discontinuities)} marked discontinuities and {trackers.Sum(t => t.NewBroadcasts)} new broadcasts accepted"),
            ("client fetches", fetches > 0 && errorRate <= options.MaxErrorRate,
                string.Create(CultureInfo.InvariantCulture, $"{counters.Failed} of {fetches} failed ({errorRate:P3}); limit {options.MaxErrorRate:P1}")),
            ("publishers", counters.Publishes >= options.Publishers, $"{counters.Publishes} publishes ({counters.Drops} drops and returns)"),
        };
        return new SoakReport(options, elapsed, samples, rss0, rss1, fd0, fd1, heap0, heap1, counters.Publishes, counters.Playlists, counters.Segments, counters.Failed,
            gaps, trackers.Sum(t => t.Discontinuities), trackers.Sum(t => t.NewBroadcasts), gapList, [.. counters.Errors.Take(20)], alive, checks);
    }

    private sealed class Counters
    {
        public long Publishes;
        public long Drops;
        public long Playlists;
        public long Segments;
        public long Failed;
        public readonly ConcurrentQueue<string> Errors = new();

        public void Fail(string what)
        {
            Interlocked.Increment(ref Failed);
            if (Errors.Count < 50) Errors.Enqueue(what);
        }
    }

    /// <summary>Publishes, drops (SIGKILL of the encoder: the connection just goes) and returns, at random, until the end.</summary>
    private static async Task PublishLoopAsync(ServerProcess server, ChannelInfo channel, Random random, SoakOptions options, Counters counters,
        Action up, Action down, CancellationToken end)
    {
        // Spread the first publishes over a few seconds.
        if (!await DelayAsync(TimeSpan.FromMilliseconds(random.Next(0, 3000)), end).ConfigureAwait(false)) return;
        while (!end.IsCancellationRequested)
        {
            var publisher = ExternalProcess.Start("ffmpeg", LavfiPublisher.Arguments(server.RtmpUrl(channel.StreamKey)));
            Interlocked.Increment(ref counters.Publishes);
            up();
            try
            {
                await DelayAsync(Between(random, options.MinOnline, options.MaxOnline), end).ConfigureAwait(false);
            }
            finally
            {
                await publisher.DisposeAsync().ConfigureAwait(false); // kills it
                down();
            }

            if (end.IsCancellationRequested) return;
            Interlocked.Increment(ref counters.Drops);
            if (!await DelayAsync(Between(random, options.MinOffline, options.MaxOffline), end).ConfigureAwait(false)) return;
        }
    }

    /// <summary>
    /// A player's fetches: the media playlist every 1-2 s (about a target duration), each new segment once (the newest three
    /// when it joins), the init segment when it changes. A playlist that is not there before the channel's first broadcast
    /// is waited for; any other failure counts.
    /// </summary>
    private static async Task ClientLoopAsync(HttpClient http, string slug, SequenceTracker tracker, Random random, Counters counters, CancellationToken end)
    {
        string playlistUrl = $"live/{slug}/source/index.m3u8";
        bool seen = false;
        string? init = null;
        if (!await DelayAsync(TimeSpan.FromMilliseconds(random.Next(0, 4000)), end).ConfigureAwait(false)) return;
        while (!end.IsCancellationRequested)
        {
            string? text = null;
            try
            {
                using var r = await http.GetAsync(playlistUrl, end).ConfigureAwait(false);
                Interlocked.Increment(ref counters.Playlists);
                if (r.IsSuccessStatusCode) text = await r.Content.ReadAsStringAsync(end).ConfigureAwait(false);
                else if (seen || r.StatusCode != HttpStatusCode.NotFound) counters.Fail($"{(int)r.StatusCode} for {playlistUrl}");
            }
            catch (OperationCanceledException) when (end.IsCancellationRequested) { return; }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { counters.Fail($"{playlistUrl}: {e.Message}"); }

            if (text is not null)
            {
                seen = true;
                if (!MediaPlaylistView.TryParse(text, out var view, out string error)) counters.Fail($"{playlistUrl}: {error}");
                else
                {
                    bool joining = tracker.NewBroadcasts == 0 && init is null;
                    var added = tracker.Observe(view);
                    if (view.InitUri is { } map && map != init)
                    {
                        await FetchAsync(http, $"live/{slug}/source/{map}", counters, end).ConfigureAwait(false);
                        init = map;
                    }

                    foreach (var e in joining ? added.TakeLast(3) : added)
                        await FetchAsync(http, $"live/{slug}/source/{e.Uri}", counters, end).ConfigureAwait(false);
                }
            }

            if (!await DelayAsync(TimeSpan.FromMilliseconds(random.Next(1000, 2000)), end).ConfigureAwait(false)) return;
        }
    }

    private static async Task FetchAsync(HttpClient http, string url, Counters counters, CancellationToken end)
    {
        try
        {
            using var r = await http.GetAsync(url, HttpCompletionOption.ResponseContentRead, end).ConfigureAwait(false);
            Interlocked.Increment(ref counters.Segments);
            if (!r.IsSuccessStatusCode) counters.Fail($"{(int)r.StatusCode} for {url}");
            else if ((await r.Content.ReadAsByteArrayAsync(end).ConfigureAwait(false)).Length == 0) counters.Fail($"empty body for {url}");
        }
        catch (OperationCanceledException) when (end.IsCancellationRequested) { }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { counters.Fail($"{url}: {e.Message}"); }
    }

    /// <summary>broadcast_gc_heap_bytes from the server's /metrics, or -1.</summary>
    private static async Task<long> GcHeapAsync(ServerProcess server, CancellationToken cancellationToken)
    {
        try
        {
            string text = await server.Viewer.GetStringAsync("metrics", cancellationToken).ConfigureAwait(false);
            foreach (var line in text.Split('\n'))
            {
                if (line.StartsWith("broadcast_gc_heap_bytes ", StringComparison.Ordinal))
                    return (long)double.Parse(line["broadcast_gc_heap_bytes ".Length..], CultureInfo.InvariantCulture);
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or FormatException)
        {
        }

        return -1;
    }

    /// <summary>
    /// VmRSS from /proc/PID/status and the entries of /proc/PID/fd, leaving out loaded code (.dll, .so): the runtime
    /// holds each assembly it loads open, and an assembly first needed after the warm-up (a code path the first minute
    /// did not take) is not a leak of sockets, pipes or files.
    /// </summary>
    /// <summary>
    /// The windows' lowest open-fd counts at the same number of publishers online (the count with the smallest rise among
    /// those both windows saw), or each window's lowest when they share none (then <c>Online</c> is null).
    /// </summary>
    public static (double First, double Last, int? Online) LowestOpenFds(IReadOnlyList<ResourceSample> first, IReadOnlyList<ResourceSample> last)
    {
        if (first.Count == 0 || last.Count == 0) return (0, 0, null);
        var shared = first.Select(s => s.PublishersOnline).Intersect(last.Select(s => s.PublishersOnline)).ToList();
        if (shared.Count == 0) return (first.Min(s => s.OpenFds), last.Min(s => s.OpenFds), null);
        int best = shared.MinBy(n => last.Where(s => s.PublishersOnline == n).Min(s => s.OpenFds) - first.Where(s => s.PublishersOnline == n).Min(s => s.OpenFds));
        return (first.Where(s => s.PublishersOnline == best).Min(s => s.OpenFds), last.Where(s => s.PublishersOnline == best).Min(s => s.OpenFds), best);
    }

    public static bool TrySample(int pid, out long rssKb, out int fds)
    {
        rssKb = 0;
        fds = 0;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (!line.StartsWith("VmRSS:", StringComparison.Ordinal)) continue;
                rssKb = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                break;
            }

            var socketInodes = new List<long>();
            foreach (var entry in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
            {
                string? target;
                try
                {
                    target = new FileInfo(entry).LinkTarget;
                }
                catch (IOException)
                {
                    continue; // closed between the listing and the read
                }
                if (target is not null && IsLoadedCode(target)) continue;
                if (target is not null && TryParseSocketInode(target, out long inode)) socketInodes.Add(inode);
                fds++;
            }
            fds -= CountPeerHeldConnections(pid, socketInodes);
            return rssKb > 0;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    /// <summary>
    /// How many of the process's sockets are established inbound connections: accepted on a port the process listens on
    /// and still open at both ends. Their number is the peers' choice (an HTTP client's keep-alive pool grows to the
    /// highest concurrency it has seen and keeps it; a publisher online holds its RTMP socket), not the server's, so the
    /// leak check leaves them out. A connection the peer closed and the server did not is CLOSE_WAIT, and still counts.
    /// </summary>
    public static int CountPeerHeldConnections(int pid, IReadOnlyCollection<long> socketInodes)
    {
        if (socketInodes.Count == 0) return 0;
        var rows = new List<TcpSocketRow>();
        foreach (var table in new[] { $"/proc/{pid}/net/tcp", $"/proc/{pid}/net/tcp6" })
        {
            try
            {
                foreach (var line in File.ReadLines(table))
                    if (TcpSocketRow.TryParse(line, out var row)) rows.Add(row);
            }
            catch (IOException) { }
        }
        return CountPeerHeldConnections(rows, socketInodes);
    }

    public static int CountPeerHeldConnections(IReadOnlyList<TcpSocketRow> rows, IReadOnlyCollection<long> socketInodes)
    {
        var own = socketInodes as ISet<long> ?? new HashSet<long>(socketInodes);
        var listening = rows.Where(r => r.State == TcpSocketRow.Listen && own.Contains(r.Inode)).Select(r => r.LocalPort).ToHashSet();
        return rows.Count(r => r.State == TcpSocketRow.Established && own.Contains(r.Inode) && listening.Contains(r.LocalPort));
    }

    private static bool TryParseSocketInode(string target, out long inode)
    {
        inode = 0;
        return target.StartsWith("socket:[", StringComparison.Ordinal) && target.EndsWith(']')
            && long.TryParse(target.AsSpan(8, target.Length - 9), NumberStyles.None, CultureInfo.InvariantCulture, out inode);
    }

    private static bool IsLoadedCode(string target) =>
        target.EndsWith(".dll", StringComparison.Ordinal) || target.EndsWith(".so", StringComparison.Ordinal) || target.Contains(".so.", StringComparison.Ordinal);

    private static TimeSpan Between(Random random, TimeSpan min, TimeSpan max) =>
        min + TimeSpan.FromMilliseconds(random.NextDouble() * Math.Max(0, (max - min).TotalMilliseconds));

    private static async Task<bool> DelayAsync(TimeSpan delay, CancellationToken end)
    {
        try
        {
            await Task.Delay(delay, end).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) { return false; }
    }
}
