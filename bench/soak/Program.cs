using System.Globalization;
using Broadcast.Soak;

// bench/soak.sh runs this; `--help` lists the switches. Exit code 0 when every check passed.
var options = new SoakOptions();
string? results = null;
string command = "bench/soak.sh";
var serverArgs = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--publishers": options = options with { Publishers = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
        case "--clients": options = options with { Clients = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
        case "--duration": options = options with { Duration = Seconds(Next()) }; break;
        case "--warmup": options = options with { WarmUp = Seconds(Next()) }; break;
        case "--window": options = options with { CompareWindow = Seconds(Next()) }; break;
        case "--online": { var (lo, hi) = Range(Next()); options = options with { MinOnline = lo, MaxOnline = hi }; break; }
        case "--offline": { var (lo, hi) = Range(Next()); options = options with { MinOffline = lo, MaxOffline = hi }; break; }
        case "--seed": options = options with { Seed = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
        case "--server-arg": serverArgs.Add(Next()); break;
        case "--results": results = Next(); break;
        case "--command": command = Next(); break;
        case "--help":
            Console.WriteLine("Broadcast.Soak [--publishers N] [--clients M] [--duration S] [--warmup S] [--window S] [--online MIN:MAX] [--offline MIN:MAX] [--seed N] [--server-arg --Key=Value]... [--results RESULTS.md --command TEXT]");
            return 0;
        default:
            Console.Error.WriteLine($"unknown switch {args[i]} (--help)");
            return 2;
    }
}

options = options with { ServerArguments = serverArgs };
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
var report = await SoakRun.RunAsync(options, line => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {line}"), stop.Token);
Console.WriteLine(report.Summary());
if (results is not null)
{
    File.AppendAllText(results, Environment.NewLine + report.Markdown(command, DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)));
    Console.Error.WriteLine($"appended to {results}");
}

return report.Passed ? 0 : 1;

static TimeSpan Seconds(string value) => TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture));

static (TimeSpan, TimeSpan) Range(string value)
{
    var parts = value.Split(':');
    if (parts.Length != 2) throw new ArgumentException($"'{value}' is not MIN:MAX seconds");
    return (Seconds(parts[0]), Seconds(parts[1]));
}
