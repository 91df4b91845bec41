// Chat load: CLIENTS SignalR connections join one channel's chat on loopback servers (--url A[,B]: clients spread over
// the nodes in turn); SENDERS of them post RATE
// messages a second between them for SECONDS; every client times each delivery (the text carries the send time of
// this one process's clock). Prints one "key=value" line per figure. Bounded: at most 5000 clients, 1000 msg/s,
// 300 s, and loopback URLs only.
using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

var options = Args.Parse(args);
var hubs = options.Urls.Select(u => new Uri(u, "/chat/hub")).ToArray();
if (hubs.Any(h => !h.IsLoopback)) return Fail("the chat load runs against loopback only");

var histogram = new long[10_001]; // 1 ms buckets; the last holds everything from 10 s on
// With more than one node, the same deliveries again split by whether the sender's node is the receiver's (local) or
// not (crossed nodes through the database), to tell where a tail comes from.
var localHistogram = new long[histogram.Length];
var crossHistogram = new long[histogram.Length];
long received = 0, foreign = 0, refused = 0, sent = 0;
var connections = new HubConnection[options.Clients];
var started = Stopwatch.StartNew();
using (var gate = new SemaphoreSlim(options.ConnectConcurrency))
{
    await Task.WhenAll(Enumerable.Range(0, options.Clients).Select(async i =>
    {
        await gate.WaitAsync();
        try
        {
            var c = new HubConnectionBuilder().WithUrl(hubs[i % hubs.Length], o => o.Transports = Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets).Build();
            c.ServerTimeout = TimeSpan.FromSeconds(120);
            var node = i % hubs.Length;
            void OnMessage(Message m)
            {
                // "bench {stamp} {sender's node}"
                var fields = m.Text is null ? [] : m.Text.Split(' ');
                if (fields.Length != 3 || fields[0] != "bench"
                    || !long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var stamp)
                    || !int.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var from))
                {
                    Interlocked.Increment(ref foreign);
                    return;
                }

                var bucket = Math.Clamp((long)Stopwatch.GetElapsedTime(stamp).TotalMilliseconds, 0, histogram.Length - 1);
                Interlocked.Increment(ref histogram[bucket]);
                Interlocked.Increment(ref (from == node ? localHistogram : crossHistogram)[bucket]);
                Interlocked.Increment(ref received);
            }

            c.On<Message>("message", OnMessage);
            // A busy chat's events come together (the server's ChatGroupDelivery); each counts as if it came alone.
            c.On<BatchItem[]>("batch", items =>
            {
                foreach (var item in items)
                {
                    if (item.Method == "message" && item.Payload is not null) OnMessage(item.Payload);
                }
            });
            await c.StartAsync();
            await c.InvokeAsync<object>("Join", options.Slug, null, null);
            connections[i] = c;
        }
        finally
        {
            gate.Release();
        }
    }));
}

Console.WriteLine(FormattableString.Invariant($"connected={options.Clients} connect_seconds={started.Elapsed.TotalSeconds:F1}"));

// Senders: the first SENDERS connections, in turn, at RATE a second in all.
var interval = TimeSpan.FromSeconds(1.0 / options.Rate);
var total = (long)(options.Rate * options.Seconds);
using (var timer = new PeriodicTimer(interval))
{
    var sends = new List<Task>();
    for (long n = 0; n < total && await timer.WaitForNextTickAsync(); n++)
    {
        var index = (int)(n % options.Senders);
        sends.Add(SendAsync(connections[index], n, index % hubs.Length));
    }

    await Task.WhenAll(sends);
}

async Task SendAsync(HubConnection c, long n, int node)
{
    try
    {
        await c.InvokeAsync<object>("Send", $"load{n % options.Senders}",
            "bench " + Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture) + " " + node.ToString(CultureInfo.InvariantCulture));
        Interlocked.Increment(ref sent);
    }
    catch (HubException)
    {
        Interlocked.Increment(ref refused);
    }
}

// Wait for the tail (bounded): every accepted message to every client, or 15 s.
var expected = Interlocked.Read(ref sent) * options.Clients;
var tail = Stopwatch.StartNew();
while (Interlocked.Read(ref received) < expected && tail.Elapsed < TimeSpan.FromSeconds(15)) await Task.Delay(100);

await Task.WhenAll(connections.Select(c => c.DisposeAsync().AsTask()));
long Percentile(double p) => PercentileOf(histogram, p);
long PercentileOf(long[] histogram, double p)
{
    var count = histogram.Sum();
    if (count == 0) return -1;
    var target = (long)Math.Ceiling(count * p);
    long seen = 0;
    for (var i = 0; i < histogram.Length; i++)
    {
        seen += histogram[i];
        if (seen >= target) return i;
    }

    return histogram.Length - 1;
}

Console.WriteLine(FormattableString.Invariant(
    $"sent={sent} refused={refused} expected={expected} received={received} foreign={foreign} p50_ms={Percentile(0.50)} p90_ms={Percentile(0.90)} p99_ms={Percentile(0.99)} max_ms={Array.FindLastIndex(histogram, x => x > 0)}"));
if (hubs.Length > 1)
{
    Console.WriteLine(FormattableString.Invariant(
        $"local_p50_ms={PercentileOf(localHistogram, 0.50)} local_p99_ms={PercentileOf(localHistogram, 0.99)} cross_p50_ms={PercentileOf(crossHistogram, 0.50)} cross_p99_ms={PercentileOf(crossHistogram, 0.99)}"));
}

return received == expected ? 0 : 3;

static int Fail(string why)
{
    Console.Error.WriteLine("chatload: " + why);
    return 2;
}

internal sealed record Message(string Id, string Author, string Name, string Text, long At, bool Moderator);

internal sealed record BatchItem(string Method, Message? Payload);

internal sealed record Args(Uri[] Urls, string Slug, int Clients, double Rate, int Seconds, int Senders, int ConnectConcurrency)
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
            int.Parse(Get("senders", "10"), CultureInfo.InvariantCulture), int.Parse(Get("connect-concurrency", "32"), CultureInfo.InvariantCulture));
        if (a.Clients is < 1 or > 5000) throw new ArgumentException("--clients must be 1..5000");
        if (a.Rate is <= 0 or > 1000) throw new ArgumentException("--rate must be above 0 and at most 1000");
        if (a.Seconds is < 1 or > 300) throw new ArgumentException("--seconds must be 1..300");
        if (a.Senders < 1 || a.Senders > a.Clients) throw new ArgumentException("--senders must be 1..clients");
        return a;
    }
}
