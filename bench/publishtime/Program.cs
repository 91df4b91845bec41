using System.Diagnostics;
using System.Globalization;
using System.Net;
using Broadcast.Ingest.Rtmp.Client;

// bench/publish-callback.sh runs this; `--help` lists the switches. It times RTMP publishes, from the TCP connect to the server's
// NetStream.Publish.Start (handshake, connect, createStream, publish: what an encoder waits for), against several loopback
// targets taken in turn, round after round, so the machine's noise falls on every target alike. Each publish closes at once.
var targets = new List<(string Label, RtmpPublishTarget Target)>();
int rounds = 30;
int pauseMs = 100;
int warmup = 5;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--target":
            string spec = Next();
            int eq = spec.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || !RtmpPublishTarget.TryParse(spec[(eq + 1)..], null, out var target, out string? error))
                return Fail($"--target LABEL=rtmp://127.0.0.1:PORT/APP/KEY, not '{spec}'");
            if (!IPAddress.TryParse(target!.Host, out var address) || !IPAddress.IsLoopback(address))
                return Fail($"{target.Host} is not a loopback address: this bench publishes to this machine only");
            targets.Add((spec[..eq], target));
            break;
        case "--rounds": rounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--pause-ms": pauseMs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--warmup": warmup = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--help":
            Console.WriteLine("""
                Broadcast.PublishTime --target LABEL=rtmp://127.0.0.1:PORT/APP/KEY [--target ...] [--rounds N] [--pause-ms MS] [--warmup W]
                    publishes to each target in turn, W rounds first that are not counted (default 5: the servers' first
                    publishes compile their code), then N rounds (default 30, at most 1000), MS milliseconds apart (default 100);
                    prints "LABEL<TAB>milliseconds" per publish (or "LABEL<TAB>refused<TAB>why"), then per target
                    "summary<TAB>LABEL<TAB>publishes<TAB>median<TAB>p90<TAB>min<TAB>max" in milliseconds
                """);
            return 0;
        default:
            return Fail($"unknown switch {args[i]} (--help)");
    }
}
if (targets.Count == 0) return Fail("give at least one --target");
if (rounds is < 1 or > 1000) return Fail("--rounds is 1..1000");
if (pauseMs is < 0 or > 10_000) return Fail("--pause-ms is 0..10000");
if (warmup is < 0 or > 100) return Fail("--warmup is 0..100");

var times = targets.ToDictionary(t => t.Label, _ => new List<double>());
var options = new RtmpPublishClientOptions { ConnectTimeout = TimeSpan.FromSeconds(10) };
for (int round = -warmup; round < rounds; round++)
{
    foreach (var (label, target) in targets)
    {
        long started = Stopwatch.GetTimestamp();
        try
        {
            await using var client = await RtmpPublishClient.PublishAsync(target, options, CancellationToken.None);
            double ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (round < 0) continue;
            times[label].Add(ms);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{label}\t{ms:F2}"));
        }
        catch (RtmpPublishException e)
        {
            Console.WriteLine($"{label}\trefused\t{e.Message}");
        }
        finally
        {
            if (pauseMs > 0) await Task.Delay(pauseMs);
        }
    }
}

foreach (var (label, _) in targets)
{
    var sorted = times[label].Order().ToArray();
    if (sorted.Length == 0)
    {
        Console.WriteLine($"summary\t{label}\t0\t-\t-\t-\t-");
        continue;
    }

    double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"summary\t{label}\t{sorted.Length}\t{At(0.5):F2}\t{At(0.9):F2}\t{sorted[0]:F2}\t{sorted[^1]:F2}"));
}

return 0;

static int Fail(string message)
{
    Console.Error.WriteLine(message);
    return 2;
}
