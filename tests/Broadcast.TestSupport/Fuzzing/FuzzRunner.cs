using System.Diagnostics;
using System.Globalization;

namespace Broadcast.TestSupport.Fuzzing;

/// <summary>
/// One parser under fuzz: gets a mutated input (and a generator for any choices it makes, such as how to slice the
/// input into reads) and returns true when the parser accepted it, false when it refused it through its documented
/// failure result. Anything it throws is an escape.
/// </summary>
public delegate bool FuzzTarget(byte[] input, FuzzRandom random);

/// <summary>Settings of one fuzz run; the defaults come from <see cref="FuzzSettings"/> (environment variables).</summary>
public sealed record FuzzOptions
{
    /// <summary>Mutated inputs to run (the seeds themselves run first, uncounted).</summary>
    public long Iterations { get; init; } = FuzzSettings.Iterations;

    public ulong Seed { get; init; } = FuzzSettings.Seed;

    /// <summary>Longest input the mutator produces.</summary>
    public int MaxInputLength { get; init; } = 16 * 1024;

    /// <summary>Allocation bound per input: this many bytes plus <see cref="AllocatedBytesPerInputByte"/> per input byte.</summary>
    public long AllocatedBytesFixed { get; init; } = 256 * 1024;

    public int AllocatedBytesPerInputByte { get; init; } = 64;

    /// <summary>One input taking longer than this is a hang (generous: the machine is shared).</summary>
    public TimeSpan MaxInputTime { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The whole run; past it the run is reported as hung with the input it was on.</summary>
    public TimeSpan? Timeout { get; init; }
}

/// <summary>What a run did: counts of accepted and refused inputs, the largest allocation and the time taken.</summary>
public sealed record FuzzReport(string Name, ulong Seed, long Iterations, long Accepted, long Refused, long MaxAllocatedBytes, TimeSpan Elapsed)
{
    public override string ToString() =>
        $"{Name}: {Iterations} inputs (seed {Seed}) in {Elapsed.TotalSeconds:F1} s, {Accepted} accepted, {Refused} refused, max {MaxAllocatedBytes} bytes allocated per input";
}

/// <summary>A fuzz run found an escape, an allocation above the bound or a hang; the message carries the replay data.</summary>
public sealed class FuzzFailure(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Runs a <see cref="FuzzTarget"/> over mutations of seed inputs (taken from the unit tests' case tables): each
/// iteration picks a seed, mutates it with a generator derived from (seed of the run, iteration), and checks three
/// invariants: no exception escapes, the bytes allocated on the thread stay under a bound proportional to the input,
/// and every input finishes in bounded time. A failure message names the run seed, the iteration and the input in
/// hex, so it becomes a case-table entry.
/// </summary>
public static class FuzzRunner
{
    public static FuzzReport Run(string name, IReadOnlyList<byte[]> seeds, FuzzTarget target, FuzzOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        if (seeds.Count == 0) throw new ArgumentException("At least one seed.", nameof(seeds));
        options ??= new FuzzOptions();
        var state = new RunState();
        FuzzReport? report = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                report = RunLoop(name, seeds, target, options, state);
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        }, 16 * 1024 * 1024) { IsBackground = true, Name = "fuzz " + name };
        thread.Start();
        var timeout = options.Timeout ?? TimeSpan.FromSeconds(120 + options.Iterations / 1000.0);
        if (!thread.Join(timeout))
        {
            var (iteration, input) = state.Current;
            throw new FuzzFailure($"{name}: run did not finish within {timeout.TotalSeconds:F0} s; stuck at "
                + Describe(options.Seed, iteration, input ?? []));
        }
        if (failure is not null) throw failure is FuzzFailure ? failure : new FuzzFailure($"{name}: harness failed", failure);
        return report!;
    }

    private sealed class RunState
    {
        private (long, byte[]?) _current;
        private readonly Lock _gate = new();

        public (long Iteration, byte[]? Input) Current
        {
            get { lock (_gate) return _current; }
            set { lock (_gate) _current = value; }
        }
    }

    private static FuzzReport RunLoop(string name, IReadOnlyList<byte[]> seeds, FuzzTarget target, FuzzOptions options, RunState state)
    {
        var mutator = new Mutator(options.MaxInputLength);
        long accepted = 0, refused = 0, maxAllocated = 0;
        var total = Stopwatch.StartNew();
        var one = new Stopwatch();
        // The seeds as they are first (iterations -N..-1), then the mutations.
        for (long iteration = -seeds.Count; iteration < options.Iterations; iteration++)
        {
            var random = FuzzRandom.ForIteration(options.Seed, iteration);
            byte[] input = iteration < 0
                ? seeds[(int)(seeds.Count + iteration)]
                : mutator.Mutate(random.Pick(seeds), seeds, random);
            state.Current = (iteration, input); // for the watchdog, should this input never return
            bool ok;
            long before = GC.GetAllocatedBytesForCurrentThread();
            one.Restart();
            try
            {
                ok = target(input, random);
            }
            catch (Exception ex)
            {
                throw new FuzzFailure($"{name}: {ex.GetType().Name} escaped: {ex.Message}; " + Describe(options.Seed, iteration, input), ex);
            }
            one.Stop();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (one.Elapsed > options.MaxInputTime)
                throw new FuzzFailure($"{name}: one input took {one.Elapsed.TotalSeconds:F1} s; " + Describe(options.Seed, iteration, input));
            long bound = options.AllocatedBytesFixed + (long)options.AllocatedBytesPerInputByte * input.Length;
            if (allocated > bound)
                throw new FuzzFailure($"{name}: allocated {allocated} bytes for a {input.Length}-byte input (bound {bound}); " + Describe(options.Seed, iteration, input));
            maxAllocated = Math.Max(maxAllocated, allocated);
            if (iteration < 0) continue;
            if (ok) accepted++;
            else refused++;
        }
        return new FuzzReport(name, options.Seed, options.Iterations, accepted, refused, maxAllocated, total.Elapsed);
    }

    /// <summary>The replay data of one input: run seed, iteration (negative: an unmutated seed) and the bytes.</summary>
    public static string Describe(ulong seed, long iteration, byte[] input) =>
        $"seed {seed}, iteration {iteration}, {input.Length} bytes: {Convert.ToHexString(input.AsSpan(0, Math.Min(input.Length, 4096)))}{(input.Length > 4096 ? "…" : "")}";
}

/// <summary>
/// Fuzz settings from the environment: <c>BROADCAST_FUZZ_ITERATIONS</c> (mutated inputs per parser, default 100000;
/// bench/fuzz.sh runs millions) and <c>BROADCAST_FUZZ_SEED</c> (default a fixed number, so ./test.sh is repeatable;
/// "random" picks one and the report prints it).
/// </summary>
public static class FuzzSettings
{
    public const long DefaultIterations = 100_000;
    public const ulong DefaultSeed = 20261121;

    public static long Iterations { get; } =
        long.TryParse(Environment.GetEnvironmentVariable("BROADCAST_FUZZ_ITERATIONS"), NumberStyles.None, CultureInfo.InvariantCulture, out long n) && n > 0
            ? n
            : DefaultIterations;

    public static ulong Seed { get; } = Environment.GetEnvironmentVariable("BROADCAST_FUZZ_SEED") switch
    {
        null or "" => DefaultSeed,
        "random" => (ulong)Random.Shared.NextInt64(),
        var s when ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out ulong v) => v,
        var s => throw new InvalidOperationException($"BROADCAST_FUZZ_SEED must be a number or 'random', not '{s}'."),
    };
}

/// <summary>Seeds from the unit tests' case tables (xunit TheoryData rows: name, decoded, bytes).</summary>
public static class FuzzSeeds
{
    /// <summary>
    /// The bytes column of each row: a byte[] as is, or a hex string ("02 0004 6C697665", spaces ignored).
    /// </summary>
    public static IEnumerable<byte[]> Column(IEnumerable<object?[]> rows, int column) =>
        rows.Select(row => row[column] switch
        {
            byte[] bytes => bytes,
            string hex => Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal)),
            var other => throw new ArgumentException($"Column {column} holds {other?.GetType().Name ?? "null"}, not bytes."),
        });
}
