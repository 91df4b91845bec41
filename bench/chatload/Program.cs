// Chat load: CLIENTS viewers join one channel's chat on loopback servers (--url A[,B]: viewers spread over the nodes in
// turn); SENDERS of them post RATE messages a second between them for SECONDS; every viewer times each delivery (the
// text carries the send time of this one process's clock). Prints one "key=value" line per figure. Bounded: at most
// 5000 clients, 1000 msg/s, 300 s (and a warm-up of at most 60 s), and loopback URLs only.
// --client websocket (the default) speaks the hub's JSON protocol over a WebSocket and reads each record once
// (WebSocketViewer); --client signalr uses the .NET SignalR client, whose parsing costs the shared cores about twice
// as much (bench/RESULTS.md, "The load client's own cost, and the first seconds of a chat").
using System.Diagnostics;
using System.Globalization;
using Broadcast.ChatLoad;

var options = Args.Parse(args);
var hubs = options.Urls.Select(u => new Uri(u, "/chat/hub")).ToArray();
if (hubs.Any(h => !h.IsLoopback)) return Fail("the chat load runs against loopback only");

var deliveries = new Deliveries();
var viewers = new IChatViewer[options.Clients];
var started = Stopwatch.StartNew();
using (var gate = new SemaphoreSlim(options.ConnectConcurrency))
{
    await Task.WhenAll(Enumerable.Range(0, options.Clients).Select(async i =>
    {
        await gate.WaitAsync();
        try
        {
            var node = i % hubs.Length;
            IChatViewer viewer = options.Client == "signalr" ? new SignalRClientViewer(hubs[node], node, deliveries)
                : new WebSocketViewer(hubs[node], node, deliveries);
            await viewer.JoinAsync(options.Slug);
            viewers[i] = viewer;
        }
        finally
        {
            gate.Release();
        }
    }));
}

Console.WriteLine(FormattableString.Invariant($"connected={options.Clients} connect_seconds={started.Elapsed.TotalSeconds:F1} client={options.Client}"));

// The hub closes a viewer it has not heard from in 30 s: every viewer pings every 10 s until the run ends.
using var running = new CancellationTokenSource();
var pinging = Task.Run(async () =>
{
    using var every = new PeriodicTimer(TimeSpan.FromSeconds(10));
    try
    {
        while (await every.WaitForNextTickAsync(running.Token))
        {
            foreach (var viewer in viewers) await viewer.PingAsync();
        }
    }
    catch (OperationCanceledException)
    {
    }
});

// Warm-up: the same load for WARMUP seconds, not counted, and then every warm-up message delivered (or 15 s), so the
// figures are those of running servers, not of their first calls (bench/RESULTS.md, "The load client's own cost, and
// the first seconds of a chat").
var interval = TimeSpan.FromSeconds(1.0 / options.Rate);
if (options.Warmup > 0)
{
    var warm = Stopwatch.StartNew();
    var (warmed, _) = await PostForAsync("warm", options.Warmup);
    while (deliveries.Warm < warmed * options.Clients && warm.Elapsed < TimeSpan.FromSeconds(options.Warmup + 15)) await Task.Delay(100);
    Console.WriteLine(FormattableString.Invariant($"warmup_seconds={options.Warmup} warmup_delivered={deliveries.Warm} warmup_wall_seconds={warm.Elapsed.TotalSeconds:F1}"));
}

var (sent, refused) = await PostForAsync("bench", options.Seconds);

// Senders: the first SENDERS viewers, in turn, at RATE a second in all; each text carries its send time.
async Task<(long Accepted, long Refused)> PostForAsync(string word, int seconds)
{
    long accepted = 0, refusedHere = 0;
    var total = (long)(options.Rate * seconds);
    using var timer = new PeriodicTimer(interval);
    var sends = new List<Task>();
    for (long n = 0; n < total && await timer.WaitForNextTickAsync(); n++)
    {
        var index = (int)(n % options.Senders);
        sends.Add(PostAsync(viewers[index], n, index % hubs.Length));
    }

    await Task.WhenAll(sends);
    return (accepted, refusedHere);

    async Task PostAsync(IChatViewer viewer, long n, int node)
    {
        var ok = await viewer.SendAsync(FormattableString.Invariant($"load{n % options.Senders}"),
            FormattableString.Invariant($"{word} {Stopwatch.GetTimestamp()} {node}"));
        Interlocked.Increment(ref ok ? ref accepted : ref refusedHere);
    }
}

// Wait for the tail (bounded): every accepted message to every viewer, or 15 s.
var expected = sent * options.Clients;
var tail = Stopwatch.StartNew();
while (deliveries.Received < expected && tail.Elapsed < TimeSpan.FromSeconds(15)) await Task.Delay(100);

await running.CancelAsync();
await pinging;
await Task.WhenAll(viewers.Select(v => v.DisposeAsync().AsTask()));
Console.WriteLine(FormattableString.Invariant(
    $"sent={sent} refused={refused} expected={expected} received={deliveries.Received} foreign={deliveries.Foreign} p50_ms={deliveries.Percentile(0.50)} p90_ms={deliveries.Percentile(0.90)} p99_ms={deliveries.Percentile(0.99)} max_ms={deliveries.Max}"));
if (hubs.Length > 1)
{
    Console.WriteLine(FormattableString.Invariant(
        $"local_p50_ms={deliveries.LocalPercentile(0.50)} local_p99_ms={deliveries.LocalPercentile(0.99)} cross_p50_ms={deliveries.CrossedPercentile(0.50)} cross_p99_ms={deliveries.CrossedPercentile(0.99)}"));
}

return deliveries.Received == expected ? 0 : 3;

static int Fail(string why)
{
    Console.Error.WriteLine("chatload: " + why);
    return 2;
}

internal sealed record Args(Uri[] Urls, string Slug, int Clients, double Rate, int Seconds, int Senders, int ConnectConcurrency, string Client, int Warmup)
{
    public static Args Parse(string[] args)
    {
        string Get(string name, string? fallback = null)
        {
            var i = Array.IndexOf(args, "--" + name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback ?? throw new ArgumentException($"--{name} is required");
        }

        var a = new Args(Get("url").Split(',').Select(u => new Uri(u)).ToArray(), Get("slug"), int.Parse(Get("clients", "2000"), CultureInfo.InvariantCulture),
            double.Parse(Get("rate", "50"), CultureInfo.InvariantCulture), int.Parse(Get("seconds", "30"), CultureInfo.InvariantCulture),
            int.Parse(Get("senders", "10"), CultureInfo.InvariantCulture), int.Parse(Get("connect-concurrency", "32"), CultureInfo.InvariantCulture),
            Get("client", "websocket"), int.Parse(Get("warmup", "5"), CultureInfo.InvariantCulture));
        if (a.Clients is < 1 or > 5000) throw new ArgumentException("--clients must be 1..5000");
        if (a.Rate is <= 0 or > 1000) throw new ArgumentException("--rate must be above 0 and at most 1000");
        if (a.Seconds is < 1 or > 300) throw new ArgumentException("--seconds must be 1..300");
        if (a.Warmup is < 0 or > 60) throw new ArgumentException("--warmup must be 0..60");
        if (a.Senders < 1 || a.Senders > a.Clients) throw new ArgumentException("--senders must be 1..clients");
        if (a.Client is not ("websocket" or "signalr")) throw new ArgumentException("--client must be websocket or signalr");
        return a;
    }
}
