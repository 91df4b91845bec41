using System.Diagnostics;
using System.Globalization;
using System.Net;
using Broadcast.TestSupport;

// bench/hostile.sh runs this; `--help` lists the switches. Loopback only. Prints one tab-separated line per pattern
// (pattern, connections, handshaken, closed by the server, median and max seconds to the close, MiB sent, errors),
// then exits 0; it judges nothing: the script reads the server's side.
var port = 0;
var host = IPAddress.Loopback;
var duration = TimeSpan.FromSeconds(30);
int concurrency = 100;
int sources = 32;
int messageBytes = 8 * 1024 * 1024;
var hold = TimeSpan.FromSeconds(5);
var patterns = Enum.GetValues<HostileRtmpPattern>().ToList();
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--port": port = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--host": host = IPAddress.Parse(Next()); break;
        case "--duration": duration = TimeSpan.FromSeconds(double.Parse(Next(), CultureInfo.InvariantCulture)); break;
        case "--concurrency": concurrency = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--sources": sources = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--message-bytes": messageBytes = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--hold": hold = TimeSpan.FromSeconds(double.Parse(Next(), CultureInfo.InvariantCulture)); break;
        case "--patterns":
            patterns = Next().Split(',').Select(p => Enum.Parse<HostileRtmpPattern>(p, ignoreCase: true)).ToList();
            break;
        case "--help":
            Console.WriteLine("Broadcast.Hostile --port P [--host 127.0.0.1] [--duration S] [--concurrency N] [--sources K] [--message-bytes B] [--hold S] [--patterns "
                + string.Join(',', Enum.GetNames<HostileRtmpPattern>()) + "]");
            return 0;
        default:
            Console.Error.WriteLine($"unknown switch {args[i]} (--help)");
            return 2;
    }
}
if (port is <= 0 or > 65535) return Fail("--port is required");
if (!IPAddress.IsLoopback(host)) return Fail("loopback only: this attacks a server");
if (concurrency is < 1 or > 1000 || sources is < 1 or > 200) return Fail("--concurrency 1..1000, --sources 1..200");
if (duration <= TimeSpan.Zero || duration > TimeSpan.FromMinutes(30)) return Fail("--duration 1..1800 s");

// Connections come from 127.0.0.2 .. 127.0.0.(1+sources) (Linux routes 127/8 to loopback): many attacking addresses,
// so the per-address limits (100 connections, 20 handshakes/s) are not what stops them; 127.0.0.1 stays for the real
// publisher. Each pattern gets an equal share of the concurrency, and each slot starts a new connection as soon as its
// last one ended, until the duration is over.
var server = new IPEndPoint(host, port);
var results = patterns.ToDictionary(p => p, _ => new List<HostileRtmpOutcome>());
var failures = patterns.ToDictionary(p => p, _ => 0);
using var stop = new CancellationTokenSource(duration);
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
int next = 0;
var clock = Stopwatch.StartNew();
var slots = Enumerable.Range(0, concurrency).Select(slot => Task.Run(async () =>
{
    var pattern = patterns[slot % patterns.Count];
    while (!stop.IsCancellationRequested)
    {
        int index = Interlocked.Increment(ref next);
        var source = IPAddress.Parse($"127.0.0.{2 + index % sources}");
        var options = new HostileRtmpOptions
        {
            Source = source,
            MessageBytes = pattern == HostileRtmpPattern.InterleavedPartials || pattern == HostileRtmpPattern.ExtendedTimestamps ? 64 * 1024 : messageBytes,
            MessageType = (byte)((index % 3) switch { 0 => 20, 1 => 3, _ => 7 }),
            Hold = hold,
        };
        try
        {
            var outcome = await HostileRtmpClient.RunAsync(server, pattern, index, options, stop.Token);
            lock (results) results[pattern].Add(outcome);
            // Refused before the handshake (a per-address limit): a moment before the next try, not a busy loop.
            if (!outcome.Handshaken) await Task.Delay(20, stop.Token);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        catch (Exception ex)
        {
            lock (results) failures[pattern]++;
            if (failures[pattern] <= 3) Console.Error.WriteLine($"{pattern} #{index}: {ex.GetType().Name}: {ex.Message}");
            await Task.Delay(100); // refused (a per-address limit): do not spin
        }
    }
})).ToArray();
await Task.WhenAll(slots);
Console.Error.WriteLine($"attack ran {clock.Elapsed.TotalSeconds:F1} s");

Console.WriteLine("pattern\tconnections\thandshaken\tclosed_by_server\tmedian_close_s\tmax_close_s\tmib_sent\tconnect_errors");
foreach (var pattern in patterns)
{
    var list = results[pattern];
    var closed = list.Where(o => o.ClosedByServer).Select(o => o.Elapsed.TotalSeconds).Order().ToList();
    string median = closed.Count == 0 ? "-" : closed[closed.Count / 2].ToString("F3", CultureInfo.InvariantCulture);
    string max = closed.Count == 0 ? "-" : closed[^1].ToString("F3", CultureInfo.InvariantCulture);
    Console.WriteLine(string.Join('\t', pattern, list.Count, list.Count(o => o.Handshaken), closed.Count, median, max,
        (list.Sum(o => o.BytesSent) / (1024.0 * 1024)).ToString("F1", CultureInfo.InvariantCulture), failures[pattern]));
}
return 0;

static int Fail(string message)
{
    Console.Error.WriteLine(message);
    return 2;
}
